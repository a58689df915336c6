"""Pictures that are not a video's: the confusion matrix (the timeline and curves are tested beside their data)."""

import numpy as np
import pytest
from PIL import Image

from keras_i3d.video.plots import confusion_matrix, plot_confusion_matrix


@pytest.mark.backend_independent
def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert confusion_matrix(np.array([], int), np.array([], int), 2).sum() == 0
    with pytest.raises(ValueError, match=r"predictions must lie in \[0, 3\); got 0..3"):
        confusion_matrix(np.array([0, 1]), np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="2 labels but 3 predictions"):
        confusion_matrix(np.array([0, 1]), np.array([0, 1, 1]), 3)


@pytest.mark.backend_independent
def test_confusion_matrix_picture(tmp_path):
    matrix = np.array([[5, 1, 0], [0, 6, 0], [2, 0, 4]])
    picture = plot_confusion_matrix(matrix, ["up", "down", "zoom"], tmp_path / "confusion.png")
    with Image.open(picture) as image:
        assert image.format == "PNG" and min(image.size) > 300
    plot_confusion_matrix(np.zeros((2, 2), int), ["a", "b"], tmp_path / "empty.png")  # a class without examples
    with pytest.raises(ValueError, match=r"2 classes is 2 x 2; got \(3, 3\)"):
        plot_confusion_matrix(matrix, ["a", "b"], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="confusion-matrix picture is a .png"):
        plot_confusion_matrix(matrix, ["up", "down", "zoom"], tmp_path / "c.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["confusion.png", "empty.png"]

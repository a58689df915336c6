"""Progress bars: shown on request, and hidden for a whole block (the CLI's --quiet)."""

from __future__ import annotations

import pytest

from keras_i3d.utils import progress
from tests.support import helpers

pytestmark = pytest.mark.backend_independent


def test_a_bar_shows_only_when_asked_and_not_hidden():
    assert not progress.bar(range(2), progress=True).disable
    assert progress.bar(range(2), progress=False).disable
    with progress.hidden():
        assert progress.bar(range(2), progress=True).disable
        with progress.hidden():
            pass
        assert progress.bar(range(2), progress=True).disable
    assert not progress.bar(range(2), progress=True).disable


@pytest.mark.requires_data
def test_quiet_silences_the_bars_of_what_the_command_calls(capsys):
    """`classify --quiet` showed the conversion's bar when the preset was not cached yet."""
    from keras_i3d.weights.checkpoints import read_checkpoint

    prefix = helpers.data_dir() / "checkpoints" / "rgb_scratch" / "model.ckpt"
    read_checkpoint(prefix, progress=True)
    assert "Reading rgb_scratch" in capsys.readouterr().err
    with progress.hidden():
        read_checkpoint(prefix, progress=True)
    assert capsys.readouterr().err == ""

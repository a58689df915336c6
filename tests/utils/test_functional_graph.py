"""keras_i3d.utils.functional_graph: replaying a functional config's calls."""

import keras
import pytest

from keras_i3d.utils.functional_graph import is_functional_config, map_histories, replay

L = keras.layers


def test_replay_runs_calls_in_dependency_order_with_shared_layers():
    # A(B(A(x))): layer A is called twice, at different depths, and B between.
    a, b = L.Dense(4, name="a"), L.Dense(4, name="b")
    x = keras.Input((4,), name="x")
    y = keras.Input((4,), name="y")
    out = L.Add(name="add")([a(b(a(x))), y])
    model = keras.Model({"y": y, "x": x}, [out, a.output])
    order = []

    def on_input(entry):
        return entry["name"]

    def on_call(entry, args, kwargs):
        order.append(entry["name"])
        inputs = args[0] if isinstance(args[0], list) else [args[0]]
        return f"{entry['name']}({','.join(inputs)})"

    outputs, calls = replay(model.get_config(), on_input, on_call)
    assert outputs == ["add(a(b(a(x))),y)", "a(x)"]
    assert calls["a"] == ["a(x)", "a(b(a(x)))"]
    assert order.index("b") < len(order) - 1 - order[::-1].index("a")
    assert map_histories(model.get_config()["input_layers"], lambda h: h[0]) == {"y": "y", "x": "x"}


def test_bad_configs():
    assert not is_functional_config(keras.Sequential([L.Dense(2)]).get_config())
    with pytest.raises(ValueError, match="functional model's config"):
        replay({"layers": []}, None, None)
    with pytest.raises(ValueError, match="input or output structure"):
        map_histories(["a", 0], lambda h: h)

"""Replaying a functional Keras model's config: its layer calls, in order, on values of your choosing.

A functional model's ``get_config()`` lists its layers with the calls
("inbound nodes") that connect them; `replay` runs those calls again with a
function of yours, on whatever values it returns: new Keras tensors (to
rebuild the graph with other layers) or any other object (to propagate a
property of the tensors through the graph). Calls run in dependency order,
shared layers included, as `keras.Model.from_config` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

#: ``(layer name, node index, tensor index)``: where a tensor of the graph comes from.
History = tuple[str, int, int]


def _is_history(value) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and isinstance(value[0], str)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:])
    )


def map_histories(structure, fn: Callable[[History], Any]):
    """Maps every ``[layer, node, tensor]`` triple of ``input_layers`` / ``output_layers`` through ``fn``.

    The structure is one triple, a list of them, or a dict of them by name
    (models with named inputs); the result keeps that structure.
    """
    if _is_history(structure):
        return fn(tuple(structure))
    if isinstance(structure, dict):
        return {key: map_histories(value, fn) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [map_histories(value, fn) for value in structure]
    raise ValueError(f"Not a functional model's input or output structure: {structure!r}.")


def node_histories(value) -> list[History]:
    """The ``keras_history`` of every tensor a serialized call (an inbound node, or part of one) refers to."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [tuple(value["config"]["keras_history"])]
        return [h for item in value.values() for h in node_histories(item)]
    if isinstance(value, (list, tuple)):
        return [h for item in value for h in node_histories(item)]
    return []


def _resolve(value, lookup: Callable[[History], Any]):
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return lookup(tuple(value["config"]["keras_history"]))
        if "class_name" in value and "config" in value:
            return keras.saving.deserialize_keras_object(value)
        return {key: _resolve(item, lookup) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_resolve(item, lookup) for item in value]
    return value


def operations_by_name(model: keras.Model) -> dict:
    """``{name: layer or operation}`` of ``model`` (``x + 3.0`` in a graph is a ``keras.ops`` ``Add``, not a layer)."""
    return {operation.name: operation for operation in model.operations}


def is_functional_config(config) -> bool:
    """Whether ``config`` is a functional model's ``get_config()`` (layers, inputs and outputs)."""
    return isinstance(config, dict) and all(key in config for key in ("layers", "input_layers", "output_layers"))


def replay(
    config: dict,
    on_input: Callable[[dict], Any],
    on_call: Callable[[dict, list, dict], Any],
) -> tuple[Any, dict[str, list[Any]]]:
    """Runs a functional config's layer calls with your functions.

    Args:
        config: ``model.get_config()`` of a functional model.
        on_input: called with each ``InputLayer`` entry of ``config["layers"]``;
            returns that input's value.
        on_call: called as ``on_call(entry, args, kwargs)`` for each call of a
            layer (``entry`` is its item of ``config["layers"]``), with the
            call's tensors replaced by the values your functions returned for
            them; returns the call's output value (or a list / dict of them
            for a layer with several outputs).

    Returns:
        ``(outputs, calls)``: the value of the model's outputs (in the
        structure of ``config["output_layers"]``), and every call's output by
        layer name, in call order.

    Raises:
        ValueError: if ``config`` is not a functional config, or a call
            refers to a layer or call that never happens.
    """
    if not is_functional_config(config):
        raise ValueError("`replay` takes a functional model's config (with layers, input_layers and output_layers).")
    entries = config["layers"]
    names = {entry["name"] for entry in entries}
    done: dict[str, list[Any]] = {}
    pending: dict[str, list[dict]] = {}
    for entry in entries:
        if entry["class_name"] == "InputLayer":
            done[entry["name"]] = [on_input(entry)]
        else:
            done[entry["name"]] = []
            pending[entry["name"]] = list(entry["inbound_nodes"])

    def lookup(history: History):
        name, node, index = history
        if name not in names:
            raise ValueError(f"The config calls on layer {name!r}, which it does not list.")
        return keras.tree.flatten(done[name][node])[index]

    def ready(node: dict) -> bool:
        return all(h[0] in done and len(done[h[0]]) > h[1] for h in node_histories(node))

    while pending:
        progressed = False
        for entry in entries:
            queue = pending.get(entry["name"])
            while queue and ready(queue[0]):
                node = queue.pop(0)
                args = _resolve(node.get("args", []), lookup)
                kwargs = _resolve(node.get("kwargs", {}), lookup)
                done[entry["name"]].append(on_call(entry, args, kwargs))
                progressed = True
            if queue == []:
                pending.pop(entry["name"], None)
        if not progressed:
            raise ValueError(f"The config's calls of {sorted(pending)} wait on calls that never happen.")
    outputs = map_histories(config["output_layers"], lookup)
    return outputs, done

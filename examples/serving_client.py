"""Ask a TF Serving model server for the top Kinetics classes of a video.

Export first, then serve (see docs/serving.md):

    keras-i3d export --weights kinetics400_rgb --out models/i3d
    docker run -p 8500:8500 -p 8501:8501 -v "$PWD/models/i3d:/models/i3d" -e MODEL_NAME=i3d tensorflow/serving

Then, over REST (port 8501) or gRPC (port 8500):

    python examples/serving_client.py video.mp4 --rest http://localhost:8501
    python examples/serving_client.py video.mp4 --grpc localhost:8500

Without --rest/--grpc it only builds both requests and prints their sizes;
--write-rest body.json writes the REST body for curl. The
client decodes the video (25 fps) and sends raw uint8 frames to the
``classify`` signature, which resizes, crops and scales them inside the model.
It needs ``pip install "keras-i3d[video,serving]"`` (PyAV to decode; TF
Serving's protos for gRPC); a client without keras_i3d can send any uint8
array of shape (batch, frames, height, width, 3) the same way.
"""

from __future__ import annotations

import argparse
import json
import urllib.request

import numpy as np

import keras_i3d
from keras_i3d.utils.quiet import quiet_framework_startup
from keras_i3d.weights.deepmind import sample_clip

with quiet_framework_startup():  # no TensorFlow start-up log lines
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


def rest_request(inputs, signature: str = "classify") -> dict:
    """The body of a TF Serving REST predict request, in the row ("instances") format.

    Args:
        inputs: one array ``(batch, ...)`` for a single-input signature, or a
            dict of arrays with the same batch size (e.g. ``{"rgb": ..., "flow": ...}``).
        signature: the signature to call.
    """
    if isinstance(inputs, dict):
        arrays = {name: np.asarray(value) for name, value in inputs.items()}
        batch = len(next(iter(arrays.values())))
        instances = [{name: value[i].tolist() for name, value in arrays.items()} for i in range(batch)]
    else:
        instances = np.asarray(inputs).tolist()
    return {"signature_name": signature, "instances": instances}


def grpc_request(inputs, model: str = "i3d", signature: str = "classify", version: int | None = None):
    """A TF Serving gRPC ``PredictRequest``.

    Args:
        inputs: a dict of arrays by input name (``{"frames": ...}``), or one
            array for the RGB ``classify`` signature's ``frames``.
        model: the served model's name (``MODEL_NAME``).
        signature: the signature to call.
        version: a version to pin, or ``None`` for the latest.
    """
    if not isinstance(inputs, dict):
        inputs = {"frames": inputs}
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
    return request


def send_rest(url: str, body: dict, model: str = "i3d", timeout: float = 120.0) -> list[dict]:
    """POSTs ``body`` to ``{url}/v1/models/{model}:predict``; returns the ``predictions``, one dict per clip."""
    request = urllib.request.Request(
        f"{url.rstrip('/')}/v1/models/{model}:predict",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["predictions"]


def send_grpc(target: str, request, timeout: float = 120.0) -> dict[str, np.ndarray]:
    """Sends ``request`` to the server at ``target`` (host:port); returns its outputs as arrays."""
    with grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 1 << 30)]) as channel:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout)
    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", help="a video file (default: DeepMind's sample clip)")
    parser.add_argument("--rest", help="TF Serving's REST address, e.g. http://localhost:8501")
    parser.add_argument("--grpc", help="TF Serving's gRPC address, e.g. localhost:8500")
    parser.add_argument("--model", default="i3d", help="the served model's name (default i3d)")
    parser.add_argument("--frames", type=int, default=64, help="frames to send (default 64: 2.56 s at 25 fps)")
    parser.add_argument("--write-rest", help="write the REST request body to this .json (for curl)")
    args = parser.parse_args()

    if args.video is None:
        args.video = sample_clip("rgb")
    frames = keras_i3d.read_video(args.video, max_frames=args.frames)[None]  # (1, frames, height, width, 3) uint8
    body = rest_request(frames)
    request = grpc_request(frames, model=args.model)
    if args.rest:
        prediction = send_rest(args.rest, body, args.model)[0]
        for label, score in zip(prediction["labels"], prediction["scores"], strict=True):
            print(f"{score:8.4f}  {label}")
    if args.grpc:
        outputs = send_grpc(args.grpc, request)
        for label, score in zip(outputs["labels"][0], outputs["scores"][0], strict=True):
            print(f"{score:8.4f}  {label.decode()}")
    if args.write_rest:
        with open(args.write_rest, "w") as f:
            json.dump(body, f)
        print(args.write_rest)
    if not (args.rest or args.grpc or args.write_rest):
        print(f"frames {frames.shape} uint8")
        print(
            f"REST body: {len(json.dumps(body)) / 1e6:.1f} MB of JSON; gRPC request: {request.ByteSize() / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()

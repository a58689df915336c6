"""Ask a TF Serving model server for the top Kinetics classes of a video.

Export first, then serve (see docs/serving.md):

    keras-i3d export --weights kinetics400_rgb --out models/i3d
    docker run -p 8500:8500 -p 8501:8501 -v "$PWD/models/i3d:/models/i3d" -e MODEL_NAME=i3d tensorflow/serving

Then, over REST (port 8501) or gRPC (port 8500):

    python examples/serving_client.py video.mp4 --rest http://localhost:8501
    python examples/serving_client.py video.mp4 --grpc localhost:8500

Without --rest/--grpc it only builds the requests and prints their sizes;
--write-rest body.json writes the REST body for curl. The
client decodes the video (25 fps) and sends raw uint8 frames to the
``classify`` signature, which resizes, crops and scales them inside the model;
with --encode jpeg (or png) it sends each frame as an image to
``classify_encoded`` instead, which decodes them in the graph first: a
request about 20 times smaller (JPEG) or 2-3 times (PNG, lossless).
It needs ``pip install "keras-i3d[video,serving]"`` (PyAV to decode; TF
Serving's protos for gRPC); a client without keras_i3d can send any uint8
array of shape (batch, frames, height, width, 3) the same way.
"""

from __future__ import annotations

import argparse
import base64
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


def encode_frames(frames, image_format: str = "jpeg", quality: int = 90) -> np.ndarray:
    """uint8 frames ``(batch, frames, height, width, 3)`` -> their images, an object array ``(batch, frames)`` of bytes.

    Args:
        frames: RGB frames.
        image_format: ``"jpeg"`` or ``"png"`` (lossless).
        quality: JPEG quality (1-100).
    """
    frames = np.asarray(frames, np.uint8)
    encoded = np.empty(frames.shape[:2], dtype=object)
    for index in np.ndindex(*frames.shape[:2]):
        if image_format == "jpeg":
            encoded[index] = tf.io.encode_jpeg(frames[index], quality=quality).numpy()
        elif image_format == "png":
            encoded[index] = tf.io.encode_png(frames[index]).numpy()
        else:
            raise ValueError(f"image_format must be 'jpeg' or 'png'; got {image_format!r}.")
    return encoded


def rest_request(inputs, signature: str = "classify") -> dict:
    """The body of a TF Serving REST predict request, in the row ("instances") format.

    Args:
        inputs: one array ``(batch, ...)`` for a single-input signature, or a
            dict of arrays with the same batch size (e.g. ``{"rgb": ..., "flow": ...}``).
            Encoded frames (an object array of bytes, from `encode_frames`) are
            sent as TF Serving's ``{"b64": ...}`` strings.
        signature: the signature to call.
    """
    inputs = _b64(inputs)
    if isinstance(inputs, dict):
        batch = len(next(iter(inputs.values())))
        rows = {name: v if isinstance(v, list) else np.asarray(v).tolist() for name, v in inputs.items()}
        instances = [{name: value[i] for name, value in rows.items()} for i in range(batch)]
    else:
        instances = inputs if isinstance(inputs, list) else np.asarray(inputs).tolist()
    return {"signature_name": signature, "instances": instances}


def _b64(inputs):
    """Arrays of bytes (encoded frames) as nested lists of ``{"b64": ...}``; other inputs unchanged."""
    if isinstance(inputs, dict):
        return {name: _b64(value) for name, value in inputs.items()}
    array = np.asarray(inputs)
    if array.dtype != object:
        return inputs
    return [[{"b64": base64.b64encode(image).decode("ascii")} for image in row] for row in array]


def grpc_request(inputs, model: str = "i3d", signature: str = "classify", version: int | None = None):
    """A TF Serving gRPC ``PredictRequest``.

    Args:
        inputs: a dict of arrays by input name (``{"frames": ...}``), or one
            array for the RGB ``classify`` signature's ``frames`` (or, for
            ``classify_encoded``, the object array of `encode_frames`, sent as ``encoded``).
        model: the served model's name (``MODEL_NAME``).
        signature: the signature to call.
        version: a version to pin, or ``None`` for the latest.
    """
    if not isinstance(inputs, dict):
        inputs = {"encoded" if np.asarray(inputs).dtype == object else "frames": inputs}
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
    parser.add_argument("--encode", choices=["jpeg", "png"], help="send frames as images to classify_encoded")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    parser.add_argument("--write-rest", help="write the REST request body to this .json (for curl)")
    args = parser.parse_args()

    if args.video is None:
        args.video = sample_clip("rgb")
    frames = keras_i3d.read_video(args.video, max_frames=args.frames)[None]  # (1, frames, height, width, 3) uint8
    inputs, signature = frames, "classify"
    if args.encode:
        inputs, signature = encode_frames(frames, args.encode, args.quality), "classify_encoded"
    body = rest_request(inputs, signature)
    request = grpc_request(inputs, model=args.model, signature=signature)
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
        print(f"frames {frames.shape} uint8" + (f", sent as {args.encode}" if args.encode else ""))
        print(
            f"REST body: {len(json.dumps(body)) / 1e6:.2f} MB of JSON; gRPC request: {request.ByteSize() / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main()

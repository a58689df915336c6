"""Progress bars: tqdm's, shown on request and hidden for a whole block with `hidden`.

Functions that take ``progress=True`` show a bar through `bar`; a caller that
promised silence (the CLI's ``--quiet``) wraps its work in `hidden`, which
also silences the bars of what that work calls (a preset converted or
downloaded on first use, say) without threading a flag through every layer.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm

_SHOWN = contextvars.ContextVar("keras_i3d_progress_bars_shown", default=True)


@contextlib.contextmanager
def hidden() -> Iterator[None]:
    """No progress bar inside this block (this thread or task), whatever ``progress`` callers pass."""
    token = _SHOWN.set(False)
    try:
        yield
    finally:
        _SHOWN.reset(token)


def bar(iterable: Iterable | None = None, *, progress: bool = True, **options) -> tqdm:
    """A tqdm bar, disabled unless ``progress`` is true and no `hidden` block is around it.

    Args:
        iterable: what to iterate over, if the bar wraps an iterable.
        progress: the caller's request to show it.
        **options: tqdm's options (``total``, ``desc``, ``unit``, ``leave``, ...).
    """
    from tqdm.auto import tqdm  # noqa: PLC0415 - not on the CLI's path to --help (keras_i3d.cli.app imports hidden)

    return tqdm(iterable, disable=not (progress and _SHOWN.get()), **options)

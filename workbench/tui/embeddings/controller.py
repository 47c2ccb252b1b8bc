"""The embeddings feature's controller: the explorer's requests out, their answers back in.

The explorer posts ``ComputeRequested``; this submits one ``EmbedRequest`` for the screen,
and the answer (``EmbeddingsDone``, or a ``RequestFailure``) comes back to that screen's
``@on`` handlers, which delegate here. The texts embedded travel on the request itself, so
nothing is remembered between the two.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.message_pump import MessagePump

from workbench.core.protocol import EmbedRequest
from workbench.tui.bridge import RunnerBridge
from workbench.tui.embeddings.explorer import EmbeddingsPane
from workbench.tui.messages import EmbeddingsDone, RequestFailure


class EmbeddingsController:
    """Embeds what the explorer asks for, and shows the vectors or the failure there."""

    def __init__(
        self, bridge: RunnerBridge, screen: MessagePump, pane: Callable[[], EmbeddingsPane]
    ) -> None:
        self.bridge = bridge
        self.screen = screen
        self.pane = pane

    def compute(self, message: EmbeddingsPane.ComputeRequested) -> None:
        texts = tuple(message.texts)  # the query, if any, is already the last text
        self.bridge.submit(EmbedRequest(model_id=message.model_id, texts=texts), to=self.screen)

    def done(self, message: EmbeddingsDone) -> None:
        self.pane().show_result(message.embed.texts, message.result)

    def failed(self, message: RequestFailure) -> None:
        self.pane().show_error(message.failure.message)

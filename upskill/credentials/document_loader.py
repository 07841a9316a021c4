"""The JSON-LD document loader for credentials: bundled contexts only, never the network.

The contexts live in ``contexts/`` beside this module, copied from their npm
packages by ``tools/vc-js/contexts.mjs --write``; ``contexts/manifest.json``
names each URL's file, package, version and SHA-256. A context is read and
checked against its hash once per process, and handed to pyld tagged
``static`` so pyld caches the *processed* context too (without the tag every
signature would re-process ~25 KB of contexts).

Any other URL raises :class:`ContextNotBundled`: a remote context can change or
vanish, and a verifier that fetches one can be made to accept a different
meaning for the same signed bytes.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = [
    "CONTEXTS_DIR",
    "ContextNotBundled",
    "bundled_context_urls",
    "is_served_context_part",
    "load_document",
]

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"


class ContextNotBundled(LookupError):
    """A document asked for a JSON-LD context Upskill does not ship."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"JSON-LD context {url!r} is not bundled with Upskill; contexts are never "
            "fetched from the network (bundled: " + ", ".join(bundled_context_urls()) + ")"
        )
        self.url = url


@functools.cache
def _contexts() -> dict[str, Any]:
    manifest = json.loads((CONTEXTS_DIR / "manifest.json").read_text(encoding="utf-8"))
    contexts: dict[str, Any] = {}
    for entry in manifest["contexts"]:
        data = (CONTEXTS_DIR / entry["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            # A hand-edited context would silently change what signatures mean.
            raise RuntimeError(
                f"{entry['file']} does not match the SHA-256 in contexts/manifest.json; "
                "regenerate it with tools/vc-js/contexts.mjs --write"
            )
        contexts[entry["url"]] = json.loads(data)
    return contexts


def bundled_context_urls() -> list[str]:
    return sorted(_contexts())


# id -> every dict and list inside the copies handed to pyld, kept alive so the ids
# stay theirs. pyld asks once per URL and process (the answer is tagged static).
_SERVED_PARTS: dict[int, object] = {}


def _remember_parts(node: object) -> None:
    if isinstance(node, dict | list):
        _SERVED_PARTS[id(node)] = node
        for child in node.values() if isinstance(node, dict) else node:
            _remember_parts(child)


def is_served_context_part(node: object) -> bool:
    """Whether ``node`` is (inside) a bundled context this loader served: such
    objects never change, unlike contexts inlined in a document."""
    return _SERVED_PARTS.get(id(node)) is node


def load_document(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader: the bundled context at ``url`` or :class:`ContextNotBundled`."""
    contexts = _contexts()
    if url not in contexts:
        raise ContextNotBundled(url)
    # pyld may rewrite relative URLs inside a context it is given: hand out a copy.
    document = copy.deepcopy(contexts[url])
    _remember_parts(document)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
        "tag": "static",
    }

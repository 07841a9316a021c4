// Code editor island: progressive enhancement of <textarea data-code-editor>.
// Without JavaScript the textarea is the editor; with it, CodeMirror 6 (Python highlighting,
// line numbers, undo history, search) edits the same text and keeps the textarea in sync, so
// the form posts exactly what the learner sees. Tab moves focus out of the editor (WCAG 2.1.2,
// no keyboard trap); indentation uses the editor's own keys (Ctrl-] / Ctrl-[).
import { EditorView, basicSetup } from "codemirror";
import { python } from "@codemirror/lang-python";

// Our CSP allows no inline styles; CodeMirror mounts its theme as a <style> element, so the
// page hands us the response's nonce (django-csp) and CodeMirror tags its styles with it.
const nonceMeta = document.querySelector('meta[name="csp-nonce"]');
const nonce = nonceMeta ? nonceMeta.content : "";

function enhance(textarea) {
  const label = textarea.labels && textarea.labels[0] ? textarea.labels[0].textContent.trim() : "Code";
  const view = new EditorView({
    doc: textarea.value,
    extensions: [
      basicSetup,
      python(),
      EditorView.lineWrapping,
      ...(nonce ? [EditorView.cspNonce.of(nonce)] : []),
      EditorView.contentAttributes.of({ "aria-label": label }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) textarea.value = update.state.doc.toString();
      }),
    ],
  });
  textarea.insertAdjacentElement("afterend", view.dom);
  textarea.hidden = true;
  textarea.dataset.enhanced = "true";
  view.dom.classList.add("code-editor");
}

function enhanceAll(root) {
  root.querySelectorAll("textarea[data-code-editor]:not([data-enhanced])").forEach(enhance);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => enhanceAll(document));
} else {
  enhanceAll(document);
}

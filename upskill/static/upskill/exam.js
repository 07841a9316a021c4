// Certification exam sitting: a countdown of the server's time left (the page already shows
// it as text, so without JavaScript nothing is lost), announcements at 5 and 1 minutes, and
// integrity signals (left the window, pasted into a number) sent for a person to review.
(function () {
  "use strict";

  var SIGNAL_GAP_MS = 10000;
  var lastSent = {};

  function startCountdown() {
    var timer = document.getElementById("time-left");
    if (!timer) return;
    var announce = document.getElementById("time-announce");
    var endsAt = Date.now() + Number(timer.dataset.secondsLeft) * 1000;
    var label = timer.dataset.label || "%(n)s min left";
    var announced = {};
    function tick() {
      var seconds = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
      timer.textContent = label.replace("%(n)s", String(Math.ceil(seconds / 60)));
      [300, 60].forEach(function (mark) {
        if (seconds <= mark && seconds > mark - 30 && !announced[mark] && announce) {
          announced[mark] = true;
          announce.textContent = announce.dataset["at" + mark] || "";
          timer.classList.add("hurry");
        }
      });
      if (seconds <= 0) {
        // The server submits the saved answers; the page then shows the report.
        window.setTimeout(function () { window.location.reload(); }, 1500);
        return;
      }
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  function csrfToken(form) {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function startSignals() {
    var form = document.getElementById("exam-form");
    if (!form || !form.dataset.signalUrl) return;
    function send(kind) {
      var now = Date.now();
      if (lastSent[kind] && now - lastSent[kind] < SIGNAL_GAP_MS) return;
      lastSent[kind] = now;
      var body = new URLSearchParams({kind: kind, position: form.dataset.position || ""});
      fetch(form.dataset.signalUrl, {
        method: "POST", body: body, credentials: "same-origin", keepalive: true,
        headers: {"X-CSRFToken": csrfToken(form)},
      }).catch(function () { /* a lost signal is not the candidate's problem */ });
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") send("focus_lost");
    });
    window.addEventListener("blur", function () { send("focus_lost"); });
    form.addEventListener("paste", function (event) {
      if (event.target instanceof HTMLInputElement && event.target.name === "answer"
          && event.target.type !== "radio" && event.target.type !== "checkbox") {
        send("paste");
      }
    });
  }

  function start() { startCountdown(); startSignals(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

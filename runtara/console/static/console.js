// Runtara console: live updates, confirmations, the signal payload editor, copy buttons.
// No framework; every page works without it (plain links and form posts).
"use strict";

(function () {
  const POLL_MS = 2000;

  // -- live regions: [data-live] holds the URL of its own fresh HTML -------------------
  function poll(region) {
    if (region.hasAttribute("data-terminal")) return;
    const tick = async () => {
      if (document.hidden || region.contains(document.activeElement) && document.activeElement.tagName !== "BODY") {
        return schedule();
      }
      try {
        const answer = await fetch(region.dataset.live, {
          headers: { "X-Console-Live": "1" },
          credentials: "same-origin",
          cache: "no-store",
        });
        if (answer.status === 401) { window.location.reload(); return; }
        if (answer.ok) {
          const html = await answer.text();
          if (html !== region.dataset.last) {
            region.dataset.last = html;
            region.innerHTML = html;
          }
          const done = region.querySelector("[data-status-terminal]");
          if (done) { region.setAttribute("data-terminal", ""); markLive(false); return; }
          markLive(true);
        } else {
          markLive(false);
        }
      } catch (_) {
        markLive(false);
      }
      schedule();
    };
    const schedule = () => window.setTimeout(tick, POLL_MS);
    schedule();
  }

  function markLive(on) {
    document.querySelectorAll("[data-live-state]").forEach((dot) => dot.classList.toggle("off", !on));
  }

  // -- confirmations ------------------------------------------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    let question = form.dataset.confirm;
    if (question === "signal") {
      const area = form.querySelector("[data-json]");
      if (area && !checkJson(area)) { event.preventDefault(); return; }
      const target = form.elements.namedItem("checkpoint_id");
      question = "Send this payload to " + (target ? target.value : "?") + "?\n\n" + (area ? area.value : "");
    }
    if (!window.confirm(question)) event.preventDefault();
  });

  // -- JSON payload editor ------------------------------------------------------------
  function checkJson(area) {
    const state = area.form && area.form.querySelector("[data-json-state]");
    const text = area.value.trim();
    try {
      if (text) JSON.parse(text);
      area.setCustomValidity("");
      if (state) { state.textContent = text ? "valid JSON" : "empty: sends null"; state.classList.remove("bad"); }
      return true;
    } catch (error) {
      area.setCustomValidity("not JSON");
      if (state) { state.textContent = "not JSON: " + error.message; state.classList.add("bad"); }
      return false;
    }
  }

  document.addEventListener("input", (event) => {
    if (event.target instanceof HTMLTextAreaElement && event.target.hasAttribute("data-json")) checkJson(event.target);
  });

  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("button") : null;
    if (!button) return;
    if (button.hasAttribute("data-format-json")) {
      const area = button.form && button.form.querySelector("[data-json]");
      if (area && checkJson(area) && area.value.trim()) area.value = JSON.stringify(JSON.parse(area.value), null, 2);
    } else if (button.dataset.copy !== undefined && navigator.clipboard) {
      navigator.clipboard.writeText(button.dataset.copy).then(() => {
        const label = button.textContent;
        button.textContent = "Copied";
        window.setTimeout(() => { button.textContent = label; }, 1200);
      });
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-live]").forEach(poll);
    document.querySelectorAll("[data-json]").forEach(checkJson);
  });
})();

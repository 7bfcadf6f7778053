// Every htmx request that changes something carries the page's CSRF token.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && event.detail.verb !== "get") {
    event.detail.headers["X-CSRFToken"] = meta.content;
  }
});

// The filter panel starts open on wide screens and keeps whatever state the
// shopper gave it when htmx swaps the results in.
const wide = window.matchMedia("(min-width: 48rem)");
let filtersOpen = null;
function restoreFilters() {
  const panel = document.querySelector("details.facets");
  if (panel) panel.open = filtersOpen ?? wide.matches;
}
document.addEventListener("DOMContentLoaded", restoreFilters);
document.addEventListener("htmx:beforeSwap", () => {
  const panel = document.querySelector("details.facets");
  if (panel) filtersOpen = panel.open;
});
document.addEventListener("htmx:afterSettle", restoreFilters);

// Photo uploads show how far they are.
document.addEventListener("htmx:xhr:progress", (event) => {
  const bar = event.target.querySelector && event.target.querySelector("progress.upload-progress");
  if (bar && event.detail.lengthComputable) {
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  }
});

// A form marked data-swap-unavailable shows our 503 answer (the page with the reason
// next to the field, e.g. "photo storage full") instead of silently doing nothing.
document.addEventListener("htmx:beforeSwap", (event) => {
  const form = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (event.detail.xhr.status === 503 && form && form.closest("[data-swap-unavailable]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Every refused htmx request says why, where the person is looking. htmx swaps nothing
// for a 4xx/5xx (bar 409/422, which carry the form with its messages), so a 413 for a
// too-large photo, a 429 or a 403 used to change nothing on screen. The reason from our
// error page (or any alert in the answer) goes into a notice at the element that sent
// the request (the form, or the link or button carrying hx-post); what was typed stays
// where it was. Text only: the answer is parsed inert and never inserted as markup.
function requestNotice(elt) {
  let notice = elt.nextElementSibling;
  if (!(notice && notice.classList.contains("request-error"))) {
    notice = document.createElement("div");
    notice.className = "notice error-box request-error";
    notice.setAttribute("role", "alert");
    notice.setAttribute("hx-disable", "");  // it may quote what someone typed
    notice.tabIndex = -1;
    elt.insertAdjacentElement("afterend", notice);
  }
  return notice;
}

function metaText(name, code) {
  const meta = document.querySelector(`meta[name="${name}"]`);
  return meta ? meta.content.replace("{code}", code) : `${code}`;
}

// The reason an answer gives: our error page's title and message, else its alerts.
function reasonIn(xhr) {
  const type = xhr.getResponseHeader("Content-Type") || "";
  if (!type.startsWith("text/html") || !xhr.responseText) return null;
  const answer = new DOMParser().parseFromString(xhr.responseText, "text/html");
  const text = (node) => (node ? node.textContent.trim() : "");
  const message = answer.querySelector("[data-error-message]");
  if (message) {
    return { title: text(answer.querySelector("[data-error-title]")), lines: [text(message)] };
  }
  const alerts = Array.from(answer.querySelectorAll('[role="alert"], .error')).map(text);
  return alerts.some(Boolean) ? { title: "", lines: alerts.filter(Boolean).slice(0, 3) } : null;
}

function showRefusal(elt, reason) {
  if (!elt || !elt.isConnected) return;
  const notice = requestNotice(elt);
  const parts = [];
  if (reason.title) {
    const title = document.createElement("strong");
    title.textContent = reason.title;
    parts.push(title);
  }
  for (const line of reason.lines) {
    const paragraph = document.createElement("p");
    paragraph.textContent = line;
    parts.push(paragraph);
  }
  notice.replaceChildren(...parts);
  notice.scrollIntoView({ block: "nearest" });
  notice.focus({ preventScroll: true });
}

document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  showRefusal(event.detail.elt,
              reasonIn(xhr) || { title: "", lines: [metaText("request-failed", xhr.status)] });
});
for (const failure of ["htmx:sendError", "htmx:timeout"]) {
  document.addEventListener(failure, (event) => {
    const elt = event.detail.elt;
    // The stand till shows the network state itself and keeps cash sales offline (stand.js).
    if (elt && elt.closest && elt.closest("[data-till]")) return;
    showRefusal(elt, { title: "", lines: [metaText("connection-failed", "")] });
  });
}
// A new try clears the last refusal of the same form.
document.addEventListener("htmx:beforeRequest", (event) => {
  const notice = event.detail.elt.nextElementSibling;
  if (notice && notice.classList.contains("request-error")) notice.remove();
});

// "Bagikan": the phone's share sheet where there is one, else the link is copied.
function showShareButtons() {
  for (const button of document.querySelectorAll("button[data-share][hidden]")) {
    if (navigator.share || navigator.clipboard) button.hidden = false;
  }
}
document.addEventListener("DOMContentLoaded", showShareButtons);
document.addEventListener("htmx:afterSettle", showShareButtons);
document.addEventListener("click", async (event) => {
  const button = event.target.closest && event.target.closest("button[data-share]");
  if (!button) return;
  const { shareTitle: title, shareUrl: url } = button.dataset;
  if (navigator.share) {
    try {
      await navigator.share({ title, url });
    } catch (error) {
      if (error.name !== "AbortError") console.warn("Gerai: share failed:", error);  // closed sheet: nothing to say
    }
    return;
  }
  try {
    await navigator.clipboard.writeText(url);
    button.textContent = button.dataset.copied;
  } catch (error) {
    window.prompt(button.dataset.copied, url);  // no clipboard access: the link to copy by hand
  }
});

// Signing out forgets the till screen kept for offline use (static/js/till-sw.js): on a
// shared tablet the next person must not open the last keeper's till without signal.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches || !form.matches("form[data-sign-out]") || !window.caches || form.dataset.cleared) return;
  event.preventDefault();
  caches.keys()
    .then((names) => Promise.all(names.filter((name) => name.startsWith("gerai-till")).map((name) => caches.delete(name))))
    .catch((error) => console.warn("Gerai: the offline till copy could not be removed:", error))
    .finally(() => { form.dataset.cleared = "1"; form.submit(); });
});

// A QRIS code's countdown ("Sisa waktu 14:59"): the visitor sees how long the code on the
// screen (or the picture saved from it) can still be paid. The server closes the charge
// at that moment whatever this shows.
function tickCountdowns() {
  for (const clock of document.querySelectorAll("[data-countdown]")) {
    const left = Math.max(0, Math.round((Date.parse(clock.dataset.countdown) - Date.now()) / 1000));
    const text = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    clock.textContent = left ? `${clock.dataset.label} ${text}` : clock.dataset.over;
  }
}
setInterval(tickCountdowns, 1000);
document.addEventListener("DOMContentLoaded", tickCountdowns);
document.addEventListener("htmx:afterSettle", tickCountdowns);

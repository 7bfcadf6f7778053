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

// The stand screen: running total and change, and cash sales that survive a bad network.
//
// A cash sale gets a key made here, is queued in localStorage, and is sent until
// the server has it; the server records one sale per key, so a sale sent twice
// (a lost answer, two tabs) still counts once. QR payments need the network.
(() => {
  const screen = document.querySelector("[data-till]");
  if (!screen) return;
  const QUEUE = `gerai-till:${screen.dataset.sellUrl}`;
  const net = document.getElementById("jaringan");
  const waiting = document.getElementById("antrean");
  // Offline when the browser says so or when the last request could not get through.
  let reachable = true;
  const isOnline = () => navigator.onLine && reachable;
  let flushing = false;

  const rupiah = (n) => "Rp " + Math.max(0, Math.round(n)).toLocaleString("id-ID");
  const parse = (text) => {
    const digits = String(text || "").replace(/,\d{1,2}$/, "").replace(/\D/g, "");
    return digits ? parseInt(digits, 10) : 0;
  };
  const queue = () => JSON.parse(localStorage.getItem(QUEUE) || "[]");
  const save = (items) => localStorage.setItem(QUEUE, JSON.stringify(items));
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""));

  function showNetwork() {
    const online = isOnline();
    net.textContent = online ? net.dataset.onlineText : net.dataset.offlineText;
    net.classList.toggle("offline", !online);
    const n = queue().length;
    waiting.hidden = n === 0;
    waiting.textContent = waiting.dataset.template.replace("{n}", n);
  }

  function totals(form) {
    let total = parse(form.elements.nominal && form.elements.nominal.value);
    form.querySelectorAll(".till-item").forEach((item) => {
      const input = item.querySelector("input");
      const quantity = parseInt(input.value, 10) || 0;
      total += quantity * parseInt(item.dataset.price, 10);
      item.classList.toggle("chosen", quantity > 0);
    });
    const received = parse(form.elements.diterima && form.elements.diterima.value);
    const out = document.getElementById("total-kasir");
    if (out) out.textContent = rupiah(total);
    const change = document.getElementById("kembalian");
    if (change) change.textContent = rupiah(received > total ? received - total : 0);
    return { total, received };
  }

  // The message sits next to the buttons; it is brought into view so the keeper sees it
  // wherever the page was scrolled.
  function say(form, message) {
    const box = form.querySelector("#pesan-kasir") || document.getElementById("pesan-kasir");
    if (!box) return;
    box.textContent = message;
    box.hidden = !message;
    if (!message) return;
    // the message, and the buttons under it that it pushed down
    const actions = box.nextElementSibling;
    if (actions) actions.scrollIntoView({ block: "nearest" });
    box.scrollIntoView({ block: "nearest" });
  }

  async function send(sale) {
    const body = new URLSearchParams(sale.fields);
    body.set("kunci", sale.key);
    const response = await fetch(screen.dataset.sellUrl, {
      method: "POST", body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
    });
    return response;
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      for (const sale of queue()) {
        let response;
        try {
          response = await send(sale);
        } catch (error) {
          reachable = false;
          break;  // still offline: try again later
        }
        reachable = true;
        if (response.status >= 500 || response.status === 429) break;
        // Sent to the login page (a session that ended) or refused for its token (a page
        // reopened from the offline copy): not recorded, so it stays queued until the
        // keeper signs in again and the till page is fresh.
        if (response.redirected || response.status === 400 || response.status === 401) {
          reachable = true;
          break;
        }
        // Recorded (201), already recorded (200), or refused for good (4xx): out of the queue.
        save(queue().filter((queued) => queued.key !== sale.key));
        if (response.status === 422) {
          const answer = await response.json().catch(() => ({}));
          const message = Object.values(answer.errors || {}).join(" ");
          say(document.querySelector(".till-form") || screen, message);
        }
      }
    } finally {
      flushing = false;
      showNetwork();
      if (queue().length === 0 && window.htmx) {
        const sales = document.getElementById("penjualan");
        if (sales) window.htmx.trigger(sales, "refresh");
      }
    }
  }

  document.addEventListener("input", (event) => {
    const form = event.target.closest(".till-form");
    if (form) totals(form);
  });

  // A tap on a product card adds one; the number field stays for typing or correcting.
  document.addEventListener("click", (event) => {
    const item = event.target.closest(".till-form .till-item");
    if (!item || event.target.tagName === "INPUT") return;
    event.preventDefault();
    const input = item.querySelector("input");
    input.value = (parseInt(input.value, 10) || 0) + 1;
    totals(item.closest("form"));
  });

  // Capture phase: decided here, before htmx sees the submit.
  window.addEventListener("submit", (event) => {
    const form = event.target.closest(".till-form");
    if (!form) return;
    const method = event.submitter && event.submitter.value;
    if (method === "qr" && !isOnline()) {
      event.preventDefault();
      event.stopPropagation();
      say(form, event.submitter.dataset.needsNetwork);
      return;
    }
    if (method !== "cash") return;
    event.preventDefault();
    event.stopPropagation();
    const { total, received } = totals(form);
    if (total <= 0 || (received > 0 && received < total)) {
      say(form, total <= 0 ? form.dataset.emptyText : form.dataset.shortText);
      return;
    }
    const fields = {};
    new FormData(form).forEach((value, name) => {
      if (name.startsWith("q-") || name === "nominal" || name === "diterima") fields[name] = value;
    });
    fields.metode = "cash";
    save([...queue(), { key: newKey(), fields, at: Date.now() }]);
    const done = document.getElementById("tunai-offline");
    done.querySelector("[data-total]").textContent = rupiah(total);
    const change = done.querySelector("[data-change]");
    change.textContent = received > total ? `${change.dataset.label} ${rupiah(received - total)}` : "";
    done.hidden = false;
    done.scrollIntoView({ block: "start" });
    form.reset();
    say(form, "");
    totals(form);
    showNetwork();
    flush();
  }, true);

  window.addEventListener("online", () => { reachable = true; flush(); });
  window.addEventListener("offline", showNetwork);
  document.addEventListener("htmx:sendError", (event) => {
    reachable = false;
    showNetwork();
    const form = event.target.closest && event.target.closest(".till-form");
    if (form) say(form, form.querySelector("[data-needs-network]").dataset.needsNetwork);
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.xhr && event.detail.xhr.status && !reachable) {
      reachable = true;
      flush();
    }
    showNetwork();
  });
  // After "Bayar QR" the register is swapped for the charge: show its top (amount and
  // QR), not whatever part of the page the keeper had scrolled to.
  // Only when the register itself was swapped: the charge's own polling must not pull the
  // page back every second.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (!(event.detail.target && event.detail.target.id === "kasir")) return;
    const shown = document.querySelector("#tagihan, #kasir > .charge-paid:not([hidden]), #pesan-kasir:not([hidden])");
    if (shown) shown.scrollIntoView({ block: shown.id === "pesan-kasir" ? "nearest" : "start" });
  });

  // The till opens without signal too: a service worker keeps the last copy of this
  // screen and its scripts and styles (static/js/till-sw.js).
  if ("serviceWorker" in navigator && screen.dataset.worker) {
    navigator.serviceWorker.register(screen.dataset.worker)
      // The first visit was not yet seen by the worker: ask it to keep this screen now.
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => registration.active.postMessage({ keep: location.href }))
      .catch((error) => console.warn("Gerai: the till cannot be kept for offline use:", error));
  }

  setInterval(() => { if (queue().length && navigator.onLine) flush(); showNetwork(); }, 2000);
  document.addEventListener("DOMContentLoaded", () => {
    const form = document.querySelector(".till-form");
    if (form) totals(form);
    showNetwork();
    flush();
  });
})();

/* Progressive enhancements: every page works without this file.
   Loaded from 'self' only (no inline script: the Content-Security-Policy forbids it). */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function onReady(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  // Header navigation: collapsed behind a "Menu" button on phones.
  function setupNav() {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) return;
    function set(open) {
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("is-open", open);
    }
    toggle.addEventListener("click", function () {
      set(toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        set(false);
        toggle.focus();
      }
    });
  }

  // Live countdown to a draw's close; the server already rendered a static value.
  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function formatLeft(ms) {
    if (ms <= 0) return "closing now";
    var total = Math.floor(ms / 1000);
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    if (days > 0) return days + " d " + hours + " h " + pad(minutes) + " min";
    return pad(hours) + ":" + pad(minutes) + ":" + pad(seconds);
  }

  function setupCountdowns() {
    var clocks = Array.prototype.slice.call(document.querySelectorAll("[data-countdown]"));
    if (!clocks.length) return;
    function tick() {
      var now = Date.now();
      clocks.forEach(function (clock) {
        var target = Date.parse(clock.getAttribute("data-countdown"));
        var out = clock.querySelector("[data-countdown-value]") || clock;
        if (!isNaN(target)) out.textContent = formatLeft(target - now);
      });
    }
    tick();
    window.setInterval(tick, 1000);
  }

  // Forms marked data-once submit once: the button is disabled while the request runs.
  // (Purchases are also protected on the server by an idempotency key.)
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
    if (form.getAttribute("data-submitted") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitted", "true");
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      var busy = button.getAttribute("data-busy-text");
      if (busy) {
        button.setAttribute("data-idle-text", button.textContent);
        button.textContent = busy;
      }
    });
  });

  // Back/forward cache: a page restored after submitting must be usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      form.removeAttribute("data-submitted");
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        var idle = button.getAttribute("data-idle-text");
        if (idle) button.textContent = idle;
      });
    });
  });

  // Buy form: the total for the chosen number of ballots (the server charges the same).
  function setupTotals() {
    document.querySelectorAll("[data-unit-price]").forEach(function (note) {
      var field = document.getElementById(note.getAttribute("data-quantity-field"));
      var out = note.querySelector("output");
      if (!field || !out) return;
      var unit = Number(note.getAttribute("data-unit-price"));
      var format = new Intl.NumberFormat("en-US", { style: "currency", currency: note.getAttribute("data-currency") || "EUR" });
      function update() {
        var quantity = Number(field.value);
        out.textContent = Number.isInteger(quantity) && quantity >= 1 && quantity <= 1000
          ? " Total: " + format.format((quantity * unit) / 100)
          : "";
      }
      field.addEventListener("input", update);
      update();
    });
  }

  onReady(function () {
    setupNav();
    setupCountdowns();
    setupTotals();
  });
})();

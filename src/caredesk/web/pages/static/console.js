// caredesk console: keyboard shortcuts, help, drafts that survive a reload, live queue counts.
// Everything works without this file; it only makes the work faster.
(function () {
  "use strict";

  var DRAFT_PREFIX = "caredesk:";
  var source = null;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // --- help --------------------------------------------------------------------------------
  function openHelp() {
    var d = $("#help");
    if (d && !d.open) { d.showModal(); }
  }

  // --- queue rows --------------------------------------------------------------------------
  function rows() { return $all("table.cases tbody tr[data-case]"); }
  function moveRow(step) {
    var list = rows();
    if (!list.length) { return; }
    var i = list.findIndex(function (r) { return r.classList.contains("current"); });
    var next = list[Math.max(0, Math.min(list.length - 1, i + step))];
    list.forEach(function (r) { r.classList.remove("current"); });
    next.classList.add("current");
    var link = $(".case-link", next);
    if (link) { link.focus(); }
  }
  function openRow() {
    var row = $("table.cases tr.current") || rows()[0];
    var link = row && $(".case-link", row);
    if (link) { link.click(); }
  }

  // --- composer ----------------------------------------------------------------------------
  function focusComposer(kind) {
    var form = $("#reply-form");
    if (!form) { return; }
    var radio = $('input[name="kind"][value="' + kind + '"]', form);
    if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }
    var box = $("#reply-body", form);
    box.focus();
    box.scrollIntoView({ block: "center" });
  }

  function draftKey(form) { return DRAFT_PREFIX + form.getAttribute("data-draft-key"); }

  function saveDraft(form) {
    var box = $("#reply-body", form);
    var kind = $('input[name="kind"]:checked', form);
    var state = $("[data-draft-state]", form);
    try {
      if (box.value.trim()) {
        localStorage.setItem(draftKey(form), JSON.stringify({
          body: box.value, kind: kind ? kind.value : "reply", at: Date.now()
        }));
        if (state) { state.textContent = "Draft saved " + new Date().toLocaleTimeString(); }
      } else {
        localStorage.removeItem(draftKey(form));
        if (state) { state.textContent = ""; }
      }
    } catch (e) {
      if (state) { state.textContent = "Drafts cannot be saved in this browser."; }
    }
  }

  function restoreDraft(form) {
    var box = $("#reply-body", form);
    var state = $("[data-draft-state]", form);
    var pending = sessionStorage.getItem(DRAFT_PREFIX + "sent");
    var notice = new URLSearchParams(location.search).get("notice");
    // The page after a successful send: the draft has become a message.
    if (pending === form.getAttribute("data-draft-key") && /^(sent|noted|sent_solved)$/.test(notice || "")) {
      localStorage.removeItem(draftKey(form));
      sessionStorage.removeItem(DRAFT_PREFIX + "sent");
    }
    var raw = null;
    try { raw = localStorage.getItem(draftKey(form)); } catch (e) { raw = null; }
    if (!raw || box.value) { return; }
    try {
      var draft = JSON.parse(raw);
      box.value = draft.body || "";
      var radio = $('input[name="kind"][value="' + draft.kind + '"]', form);
      if (radio) { radio.checked = true; }
      if (state) { state.textContent = "Draft restored from " + new Date(draft.at).toLocaleString(); }
    } catch (e) { /* a damaged draft is dropped */ }
  }

  function initComposer() {
    var form = $("#reply-form");
    if (!form || form.dataset.ready) { return; }
    form.dataset.ready = "1";
    restoreDraft(form);
    var timer = null;
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { saveDraft(form); }, 300);
    });
    form.addEventListener("change", function () { saveDraft(form); });
    form.addEventListener("submit", function () {
      saveDraft(form);
      sessionStorage.setItem(DRAFT_PREFIX + "sent", form.getAttribute("data-draft-key"));
    });
    var macro = $("[data-macro]", form);
    if (macro) {
      macro.addEventListener("change", function () {
        var opt = macro.selectedOptions[0];
        var text = opt && opt.getAttribute("data-body");
        if (!text) { return; }
        var box = $("#reply-body", form);
        var at = box.selectionStart || box.value.length;
        box.value = box.value.slice(0, at) + text + box.value.slice(at);
        macro.value = "";
        box.focus();
        saveDraft(form);
      });
    }
  }

  // --- offers ------------------------------------------------------------------------------
  function grantTopOffer() {
    var button = $("[data-top-offer]");
    if (!button) { return; }
    var offer = button.closest(".offer");
    var title = offer ? $("h3", offer).textContent.trim() : "the top offer";
    button.focus();
    offer.scrollIntoView({ block: "center" });
    if (window.confirm(button.textContent.trim() + ": " + title + "?")) {
      button.click();
    }
  }

  // --- live counts -------------------------------------------------------------------------
  function updateCounts(counts) {
    Object.keys(counts).forEach(function (key) {
      if (counts[key] < 0) { return; }
      $all('[data-count="' + key + '"]').forEach(function (el) { el.textContent = counts[key]; });
    });
  }

  function refreshQueue() {
    var list = $("#queue-list[data-live]");
    if (!list || !window.htmx) { return; }
    if ($all('input[name="cases"]:checked').length) {
      var note = $("#live-note");
      if (note) { note.textContent = "New activity: reload the queue when you have finished selecting."; }
      return;
    }
    window.htmx.ajax("GET", location.pathname + location.search, {
      target: "#queue-list", select: "#queue-list", swap: "outerHTML"
    });
  }

  function connectLive() {
    if (source || !window.EventSource || !document.body.hasAttribute("data-agent")) { return; }
    source = new EventSource("/events");
    source.addEventListener("counts", function (event) {
      var data = JSON.parse(event.data);
      updateCounts(data.counts);
      // The list carries the stamp it was read at: comparing with it, not with the previous
      // event, also catches a case that arrived before this connection's first event.
      var list = $("#queue-list[data-live]");
      if (list && list.dataset.stamp !== data.stamp) { refreshQueue(); }
    });
  }

  // --- confirmations -----------------------------------------------------------------------
  // A boosted form keeps the scroll position of the page it came from (often the composer at
  // the bottom): bring the answer's confirmation, or its refusal, to the top and focus it,
  // so the agent and a screen reader both meet it first.
  function showConfirmation() {
    var shown = $("[data-confirm]");
    if (!shown || shown.dataset.seen) { return; }
    shown.dataset.seen = "1";
    shown.focus({ preventScroll: true });
    var top = shown.getBoundingClientRect().top + window.scrollY;
    // Near the top of the page: show the page's head with it, not just the message.
    if (top < window.innerHeight / 2) { window.scrollTo(0, 0); } else { shown.scrollIntoView({ block: "start" }); }
  }

  // --- wiring ------------------------------------------------------------------------------
  function init() {
    showConfirmation();
    initComposer();
    connectLive();
    var all = $("[data-select-all]");
    if (all && !all.dataset.ready) {
      all.dataset.ready = "1";
      all.addEventListener("change", function () {
        $all('input[name="cases"]').forEach(function (box) { box.checked = all.checked; });
      });
    }
  }

  // --- knowledge ---------------------------------------------------------------------------
  function insertIntoReply(text) {
    var form = $("#reply-form");
    if (!form || !text) { return; }
    var box = $("#reply-body", form);
    var at = box.selectionStart || box.value.length;
    var before = box.value.slice(0, at);
    var gap = before && !/\n\n$/.test(before) ? "\n\n" : "";
    box.value = before + gap + text + box.value.slice(at);
    box.focus();
    box.scrollIntoView({ block: "center" });
    saveDraft(form);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-help]")) { openHelp(); }
    var insert = event.target.closest("[data-insert]");
    if (insert) { insertIntoReply(insert.getAttribute("data-insert")); }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) { event.target.select(); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (typing(event.target) || $("dialog[open]")) { return; }
    var handled = true;
    switch (event.key) {
      case "?": openHelp(); break;
      case "j": moveRow(1); break;
      case "k": moveRow(-1); break;
      case "o": openRow(); break;
      case "/": var q = $("#q"); if (q) { q.focus(); } else { handled = false; } break;
      case "n": var next = $('[data-key="n"]'); if (next) { next.click(); } else { handled = false; } break;
      case "r": focusComposer("reply"); break;
      case "p": focusComposer("note"); break;
      case "g": grantTopOffer(); break;
      case "a": var mine = $('form[data-key="a"]'); if (mine) { mine.requestSubmit(); } else { handled = false; } break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();

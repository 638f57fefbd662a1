// seatledger admin pages: small progressive enhancements on top of plain forms and links.
// Without this file every page still works: dialogs are pages of their own, the seat stepper is a
// number field, and there is no print button (the browser's own print works).
(function () {
  "use strict";

  function dialogById(id) {
    var dialog = document.getElementById(id);
    return dialog && typeof dialog.showModal === "function" ? dialog : null;
  }

  function openDialog(id) {
    var dialog = dialogById(id);
    if (!dialog) {
      return false;
    }
    if (!dialog.open) {
      dialog.showModal();
    }
    var first = dialog.querySelector("[autofocus]") ||
      dialog.querySelector("textarea, input:not([type=hidden]), select, button");
    if (first) {
      first.focus();
    }
    return true;
  }

  function closeDialogs() {
    document.querySelectorAll("dialog[open]").forEach(function (dialog) {
      dialog.close();
    });
  }

  // Controls that only make sense with JavaScript are rendered hidden and shown here.
  document.querySelectorAll("[data-js-only]").forEach(function (element) {
    element.hidden = false;
  });

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) {
      return;
    }
    var opener = target.closest("[data-dialog]");
    if (opener && openDialog(opener.getAttribute("data-dialog"))) {
      event.preventDefault();
      return;
    }
    var closer = target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    var clearer = target.closest("[data-clear]");
    if (clearer) {
      var region = document.getElementById(clearer.getAttribute("data-clear"));
      if (region) {
        event.preventDefault();
        region.innerHTML = "";
        var field = document.getElementById("seat-count");
        if (field) {
          field.focus();
        }
      }
      return;
    }
    var step = target.closest("[data-step]");
    if (step) {
      var input = document.getElementById(step.getAttribute("data-for"));
      if (input) {
        var value = parseInt(input.value, 10);
        var next = (isNaN(value) ? 0 : value) + parseInt(step.getAttribute("data-step"), 10);
        input.value = String(Math.max(0, next));
        input.dispatchEvent(new Event("input", { bubbles: true }));
      }
      return;
    }
    if (target.closest("[data-print]")) {
      window.print();
    }
  });

  // A confirmation loaded into the dialog opens it; a swapped-in step takes the focus.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var swapped = event.detail && event.detail.target;
    if (!swapped) {
      return;
    }
    if (swapped.id === "confirm-body") {
      openDialog("confirm-dialog");
      return;
    }
    var focus = swapped.querySelector("[data-focus-after-swap]");
    if (focus) {
      focus.focus();
    }
  });

  // Sent by the server after a change made from a dialog, once the page is updated: close the
  // dialog (the browser gives the focus back to what opened it); if that is gone (its row was
  // re-rendered), put the focus at the start of the page, where the notice says what happened.
  document.body.addEventListener("seatledger:close-dialog", function () {
    closeDialogs();
    var active = document.activeElement;
    if (!active || active === document.body || !document.body.contains(active)) {
      var main = document.getElementById("main");
      if (main) {
        main.focus();
      }
    }
  });
})();

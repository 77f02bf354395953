// newswatch web app: small enhancements only; every page works without this file.
(function () {
  "use strict";

  // "/" jumps to the search box (unless one is typing somewhere already).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable)) {
      return;
    }
    var box = document.getElementById("q") || document.getElementById("quick-q");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // Forms that change a lot ask first (merge, split, remove).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // The split button says how many articles are ticked.
  function countTicked() {
    var form = document.getElementById("split-form");
    if (!form) {
      return;
    }
    var ticked = document.querySelectorAll('input[form="split-form"]:checked').length;
    var button = form.querySelector("button");
    if (button) {
      button.disabled = ticked === 0;
      button.textContent = ticked ? "Split the " + ticked + " ticked article" + (ticked === 1 ? "" : "s") + " into a new story"
                                  : "Tick the articles to split off first";
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.getAttribute && event.target.getAttribute("form") === "split-form") {
      countTicked();
    }
  });
  document.addEventListener("DOMContentLoaded", countTicked);
})();

// Govern's one page script, served from here (the Content-Security-Policy refuses inline scripts). Pages work
// without it: it starts GOV.UK Frontend's components (the menu's toggle at phone width, the skip link, error
// summaries) and gives each wide table its own keyboard-reachable scroller, so no page scrolls sideways (a wide chart
// comes in a scroller of its own, which is marked alike).
import { initAll } from "../vendor/govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

function label(table) {
  if (table.getAttribute("aria-label")) return table.getAttribute("aria-label");  // a chart names itself
  const caption = table.querySelector("caption");
  if (caption) return caption.textContent.trim();
  const heading = table.closest("section, article, main")?.querySelector("h1, h2, h3");
  return heading ? heading.textContent.trim() : "Table";
}

// A scroller that scrolls must be reachable by keyboard and named; one that does not, not a tab stop.
function mark(scroller) {
  const scrolls = scroller.scrollWidth > scroller.clientWidth + 1;
  if (scrolls) {
    scroller.setAttribute("tabindex", "0");
    scroller.setAttribute("role", "region");
    scroller.setAttribute("aria-label", label(scroller.querySelector("table, svg")) + " (scrolls sideways)");
  } else {
    ["tabindex", "role", "aria-label"].forEach((name) => scroller.removeAttribute(name));
  }
}

function wrapTables(root) {
  root.querySelectorAll("main table").forEach((table) => {
    if (table.parentElement.classList.contains("table-scroll")) return;
    const scroller = document.createElement("div");
    scroller.className = "table-scroll";
    table.parentNode.insertBefore(scroller, table);
    scroller.appendChild(table);
  });
  document.querySelectorAll(".table-scroll").forEach(mark);
}

wrapTables(document);
document.body.addEventListener("htmx:afterSwap", () => wrapTables(document));
window.addEventListener("resize", () => document.querySelectorAll(".table-scroll").forEach(mark));

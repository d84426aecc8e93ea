// Picking a deployment's place on the map of the plan's confirmation step (govern/templates/maps/place.html). A click
// on the map, or the arrow keys then Enter, moves the cross there, fills the plan's latitude and longitude, and asks
// the server (deployments:place-nearest) for the nearest postcode district, which is said in a live region. Nothing
// is planned from here: "Check again" sends the form, and the server checks the place exactly as if it were typed.
// Without this script the map is a picture to check and the form works by postcode.
(function () {
  "use strict";
  const STEP = 4; // pixels an arrow key moves the cross (Shift: five times that)
  const DIGITS = 6; // decimal places the plan stores

  document.querySelectorAll("figure.place-map[data-pick]").forEach(function (figure) {
    const svg = figure.querySelector("svg.map");
    const fields = document.getElementById(figure.dataset.pick);
    const latitude = fields && fields.querySelector("input[name=latitude]");
    const longitude = fields && fields.querySelector("input[name=longitude]");
    const mark = svg && svg.querySelector(".place-mark");
    if (!latitude || !longitude || !mark) return;
    const said = document.getElementById(figure.id + "-picked");
    const how = document.getElementById(figure.id + "-how");
    const size = Number(figure.dataset.size);
    const pxPerKm = Number(figure.dataset.pxPerKm);
    const kmPerDegree = Number(figure.dataset.kmPerDegree);
    const centre = { latitude: Number(figure.dataset.latitude), longitude: Number(figure.dataset.longitude) };
    let spot = { x: size / 2, y: size / 2 }; // the cross, in the map's pixels (the place it was drawn for is the centre)

    // The inverse of govern/maps.py's xy(): a point of the map back to degrees, around the map's centre.
    function placeAt(point) {
      const north = (size / 2 - point.y) / pxPerKm;
      const east = (point.x - size / 2) / pxPerKm;
      return {
        latitude: (centre.latitude + north / kmPerDegree).toFixed(DIGITS),
        longitude: (centre.longitude + east / (kmPerDegree * Math.cos((centre.latitude * Math.PI) / 180))).toFixed(DIGITS),
      };
    }

    function moveCross(point) {
      spot = { x: Math.min(Math.max(point.x, 0), size), y: Math.min(Math.max(point.y, 0), size) };
      mark.setAttribute("transform", "translate(" + (spot.x - size / 2) + " " + (spot.y - size / 2) + ")");
    }

    // The confirmation above still carries the place that was checked: it may not be confirmed until checked again.
    function holdConfirmation() {
      const confirm = document.getElementById("confirm");
      if (!confirm || confirm.disabled) return;
      confirm.disabled = true;
      const note = document.createElement("p");
      note.id = "confirm-held";
      note.className = "govuk-body";
      note.textContent = "You moved the place on the map: choose “Check again” below to check it before you confirm.";
      confirm.closest("form").prepend(note);
    }

    function pick() {
      const place = placeAt(spot);
      latitude.value = place.latitude;
      longitude.value = place.longitude;
      holdConfirmation();
      said.textContent = "Picked " + place.latitude + ", " + place.longitude + ": finding the nearest postcode district…";
      const url = figure.dataset.nearestUrl + "?latitude=" + place.latitude + "&longitude=" + place.longitude;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json();
        })
        .then(function (answer) {
          said.textContent = answer.said || "Not a place a deployment can be: " + answer.problem;
          said.classList.toggle("error", !answer.said);
          figure.dataset.district = answer.district || "";
        })
        .catch(function () {
          said.textContent = "Picked " + place.latitude + ", " + place.longitude + ": the nearest district could not be found now; the place is checked when you check again.";
        });
    }

    svg.setAttribute("tabindex", "0");
    svg.setAttribute("role", "application");
    svg.setAttribute("aria-roledescription", "map to pick the place on");
    svg.setAttribute("aria-describedby", how.id + " " + svg.getAttribute("aria-labelledby").split(" ")[1]);
    svg.classList.add("pickable");
    how.hidden = false;

    svg.addEventListener("click", function (event) {
      const box = svg.getBoundingClientRect();
      moveCross({ x: ((event.clientX - box.left) * size) / box.width, y: ((event.clientY - box.top) * size) / box.height });
      pick();
    });
    svg.addEventListener("keydown", function (event) {
      const step = event.shiftKey ? STEP * 5 : STEP;
      const moves = { ArrowUp: [0, -step], ArrowDown: [0, step], ArrowLeft: [-step, 0], ArrowRight: [step, 0] };
      if (moves[event.key]) {
        event.preventDefault();
        moveCross({ x: spot.x + moves[event.key][0], y: spot.y + moves[event.key][1] });
        const place = placeAt(spot);
        said.textContent = "Cross at " + place.latitude + ", " + place.longitude + ": press Enter to pick it.";
      } else if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pick();
      }
    });
  });
})();

// Adding a person to a watchlist: copy the chosen person and image into the form's hidden fields.
document.querySelectorAll("input[name=pick]").forEach(function (radio) {
  radio.addEventListener("change", function () {
    document.getElementById("id_subject").value = radio.dataset.subject;
    document.getElementById("id_image").value = radio.dataset.image;
  });
});

document.getElementById("app").textContent = "medimg";

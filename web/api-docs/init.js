// Starts Swagger UI on the document served next to this page (/api/openapi.json).
// Kept out of the HTML so that the page's Content-Security-Policy needs no inline script.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", window.location.href).toString(),
    dom_id: "#swagger-ui",
    deepLinking: true,
    // No call to the public validator (it would also need a third-party image).
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});

// Swagger UI over the gateway's own /openapi.json; every asset is served by the gateway.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  // No badge from the public validator: offline networks, and the document stays here.
  validatorUrl: null,
  deepLinking: true,
  displayOperationId: true,
  docExpansion: "list",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});

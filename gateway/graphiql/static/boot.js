/* ops-gateway: starts GraphiQL. Our own file (not vendored), served from 'self' so the page's
 * Content-Security-Policy can stay `script-src 'self'` with no inline script. */
(function () {
  "use strict";

  var root = document.getElementById("graphiql");
  var endpoint = new URL(root.getAttribute("data-endpoint") || location.pathname, location.href);
  // Subscriptions: graphql-transport-ws on the same path, ws:// or wss:// like the page.
  var subscriptionUrl = new URL(endpoint.href);
  subscriptionUrl.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  // Queries and mutations: a plain JSON POST to the endpoint. Subscriptions: the graphql-ws
  // client bundled in GraphiQL's UMD build; the headers editor's JSON (Authorization) is sent
  // as the connection_init payload.
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: subscriptionUrl.href,
    enableIncrementalDelivery: false,
  });

  // Until a token is pasted, answer locally instead of sending the placeholder to the server:
  // a first-time user then reads what to do, not "malformed Authorization header".
  var PLACEHOLDER = "<paste your token>";
  var noToken = {
    errors: [
      {
        message:
          "No API token yet: put the token that `ops-gateway serve` printed (or one from " +
          "`ops-gateway token create`) into the Headers tab as " +
          '{"Authorization": "Bearer ogw_..."}, then press Run. Re-fetch the schema ' +
          "(the circular arrows, bottom left) to get the docs explorer.",
        extensions: { code: "UNAUTHENTICATED" },
      },
    ],
  };
  function guardedFetcher(params, opts) {
    var headers = (opts && opts.headers) || {};
    var auth = String(headers.Authorization || headers.authorization || "");
    if (!auth || auth.indexOf(PLACEHOLDER) !== -1) {
      return Promise.resolve(noToken);
    }
    return fetcher(params, opts);
  }

  var defaultHeaders = JSON.stringify({ Authorization: "Bearer " + PLACEHOLDER }, null, 2);
  var defaultQuery =
    "# Paste your API token into Headers, then press Run.\n" +
    "{ me { subject roles } }\n";

  root.textContent = "";
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: guardedFetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: defaultHeaders,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
    })
  );
})();

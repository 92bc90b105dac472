// The test page: renders one of NNRR's Questionnaires with @helsenorge/refero exactly as
// Helsenorge's form filler does, and on "Send inn" posts the QuestionnaireResponse refero
// produced to NNRR's POST /fhir/QuestionnaireResponse, with the order and the patient named as
// Helsenorge names them. Query parameters: questionnaire (id), order, fnr, token (a bearer token
// of a machine client with system/QuestionnaireResponse.write).
import { createRoot } from "react-dom/client";
import { Provider } from "react-redux";
import { Refero, store } from "@helsenorge/refero";
import resources from "./resources.nb.json";

const params = new URLSearchParams(window.location.search);
const FNR = "urn:oid:2.16.578.1.12.4.1.4.1";

function show(status, body) {
  const result = document.getElementById("result");
  result.textContent = JSON.stringify({ status, body });
  result.dataset.status = String(status);
  result.hidden = false;
}

async function submit(questionnaire, response) {
  const resource = {
    ...response,
    questionnaire: `${questionnaire.url}|${questionnaire.version}`,
    identifier: { system: params.get("orderSystem"), value: params.get("order") },
    subject: { identifier: { system: FNR, value: params.get("fnr") } },
    authored: new Date().toISOString(),
  };
  window.nnrrSubmitted = resource;
  const answer = await fetch("/fhir/QuestionnaireResponse", {
    method: "POST",
    headers: {
      "Content-Type": "application/fhir+json",
      Authorization: `Bearer ${params.get("token")}`,
    },
    body: JSON.stringify(resource),
  });
  show(answer.status, await answer.json());
}

async function main() {
  const answer = await fetch(`/fhir/Questionnaire/${params.get("questionnaire")}`);
  const questionnaire = await answer.json();
  createRoot(document.getElementById("refero")).render(
    <Provider store={store()}>
      <Refero
        questionnaire={questionnaire}
        resources={resources}
        authorized
        loginButton={<span />}
        onSubmit={(response) => submit(questionnaire, response)}
        onSave={() => {}}
        onCancel={() => {}}
        language="nb-NO"
      />
    </Provider>,
  );
}

main();

"""The OpenAI-compatible endpoint with the official openai client, over real HTTP against `rag serve`."""

import pytest

from tests.conftest import SEED_DOUBT, SEED_QUESTION

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.rstrip("/") + "/v1", api_key="none", max_retries=0, timeout=300)


def test_models_lists_what_this_server_offers(client):
    assert [m.id for m in client.models.list()] == ["newsrag"]  # no LLM configured on this server


def test_chat_completion_answers_with_markers_and_citations(client):
    r = client.chat.completions.create(model="newsrag", messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": SEED_QUESTION}])
    text = r.choices[0].message.content
    cites = r.model_extra["citations"]
    assert "[1]" in text and r.choices[0].finish_reason == "stop" and not r.model_extra["abstained"]
    assert any(SEED_DOUBT in c["quote"] for c in cites)
    assert set(cites[0]) == {"n", "article_id", "chunk_id", "title", "source", "url", "date", "quote", "point"}


def test_streamed_answer_is_the_same_answer(client):
    plain = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": SEED_QUESTION}])
    chunks = list(client.chat.completions.create(model="newsrag", stream=True,
                                                 messages=[{"role": "user", "content": SEED_QUESTION}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content and len(chunks) >= 3
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == plain.model_extra["citations"]


def test_filters_travel_in_the_extension_field_and_bad_requests_are_named(client):
    from openai import APIStatusError

    q = [{"role": "user", "content": "What did Iran say about the accusations of chemical weapons in Syria?"}]
    r = client.chat.completions.create(model="newsrag", messages=q,
                                       extra_body={"rag": {"date_from": "2018-08-01", "date_to": "2018-10-31"}})
    assert all("2018-08-01" <= c["date"] <= "2018-10-31" for c in r.model_extra["citations"])
    with pytest.raises(APIStatusError) as err:
        client.chat.completions.create(model="newsrag-llm", messages=q)  # no LLM here
    assert err.value.status_code == 404 and "newsrag" in str(err.value)
    with pytest.raises(APIStatusError) as err:
        client.chat.completions.create(model="newsrag", messages=q, extra_body={"rag": {"k": 0}})
    assert err.value.status_code == 422 and "k" in str(err.value)

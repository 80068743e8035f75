"""The official `openai` SDK against a real gunicorn server with 2 workers, once with its
SQLite file and once with Redis: the Conversations API (`conversations.*`,
`conversations.items.*`, responses that continue a conversation) and stored chat completions
(`chat.completions.list/retrieve/update/delete/messages.list`); another key gets a 404 on
every route; 20 responses appended to one conversation at once lose no item. Every body is
validated against the official spec."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from ..support.paths import REPO_ROOT
from ..support.redis_server import RedisProcess
from ..support.server import ServerProcess, running_server
from ..support.spec import SpecValidator

pytestmark = pytest.mark.server

ALICE, BOB = "sk-alice", "sk-bob"


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    env = {
        "WORKERS": "2",
        "API_KEYS": f"{ALICE},{BOB}",
        "MODEL_BACKEND": "tests.support.scripted_backend:Transcript",
        # This checkout's package first (not whichever the venv has installed), and tests/.
        "PYTHONPATH": f"{REPO_ROOT / 'api/src'}:{REPO_ROOT / 'api'}",
    }
    if request.param == "sqlite":
        with running_server(**env) as server:  # a SQLite file of its own
            yield server
        return
    redis = RedisProcess()
    try:
        with running_server(**env, RESPONSE_STORE=redis.url) as server:
            yield server
    finally:
        redis.close()


def sdk(server: ServerProcess, key: str = ALICE) -> openai.OpenAI:
    # A new connection per request, so the kernel spreads requests over both workers.
    http = httpx.Client(headers={"Connection": "close"}, timeout=30)
    return openai.OpenAI(
        base_url=server.base_url + "/v1", api_key=key, http_client=http, max_retries=0
    )


def dump(model: openai.BaseModel) -> dict[str, object]:
    return model.model_dump(exclude_unset=True, by_alias=True)


def test_conversations_and_items(server: ServerProcess, spec: SpecValidator) -> None:
    client = sdk(server)
    conv = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "one"}], metadata={"k": "v"}
    )
    spec.validate("ConversationResource", dump(conv))
    assert conv.metadata == {"k": "v"}
    assert client.conversations.retrieve(conv.id) == conv
    updated = client.conversations.update(conv.id, metadata={"k": "w"})
    assert updated.metadata == {"k": "w"}
    added = client.conversations.items.create(
        conv.id,
        items=[{"role": "user", "content": "two"}, {"role": "user", "content": "three"}],
    )
    spec.validate("ConversationItemList", dump(added))
    assert len(added.data) == 2
    # Auto-pagination follows `last_id` while `has_more`.
    listed = list(client.conversations.items.list(conv.id, order="asc", limit=1))
    assert [item.content[0].text for item in listed] == ["one", "two", "three"]  # type: ignore[union-attr]
    page = client.conversations.items.list(conv.id)
    spec.validate("ConversationItemList", dump(page))
    assert [i.id for i in page.data] == [i.id for i in reversed(listed)]
    item = client.conversations.items.retrieve(listed[1].id, conversation_id=conv.id)  # type: ignore[union-attr]
    spec.validate("ConversationItem", dump(item))
    assert item == listed[1]
    after = client.conversations.items.delete(listed[1].id, conversation_id=conv.id)  # type: ignore[union-attr]
    assert after.id == conv.id
    assert len(client.conversations.items.list(conv.id).data) == 2

    response = client.responses.create(model="mock-model", input="four", conversation=conv.id)
    spec.validate("Response", dump(response))
    assert response.output_text == "user: one\nuser: three\nuser: four"
    assert response.conversation is not None and response.conversation.id == conv.id
    with client.responses.stream(
        model="mock-model", input="five", conversation={"id": conv.id}
    ) as stream:
        final = stream.get_final_response()
    assert final.output_text.startswith("user: one\nuser: three\nuser: four\nassistant: user")
    assert len(client.conversations.items.list(conv.id, limit=100).data) == 6

    with pytest.raises(openai.BadRequestError):
        client.responses.create(
            model="mock-model",
            input="x",
            conversation=conv.id,
            previous_response_id=response.id,
        )
    deleted = client.conversations.delete(conv.id)
    spec.validate("DeletedConversationResource", dump(deleted))
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conv.id)


def test_stored_chat_completions(server: ServerProcess, spec: SpecValidator) -> None:
    client = sdk(server)
    messages = [{"role": "user", "content": "stored"}]
    made = [
        client.chat.completions.create(
            model="mock-model",
            messages=messages,  # type: ignore[arg-type]
            store=True,
            metadata={"batch": "sdk", "n": str(n)},
        )
        for n in range(3)
    ]
    streamed = client.chat.completions.create(
        model="mock-model",
        messages=messages,  # type: ignore[arg-type]
        store=True,
        stream=True,
        metadata={"batch": "sdk-stream"},
    )
    (stream_id,) = {chunk.id for chunk in streamed}  # the whole stream: stored by its end
    listed = client.chat.completions.list(metadata={"batch": "sdk"}, limit=2)
    spec.validate("ChatCompletionList", dump(listed))
    assert [c.id for c in listed] == [c.id for c in made]  # every page
    assert client.chat.completions.list(model="mock-model", order="desc").data[0].id == stream_id
    got = client.chat.completions.retrieve(made[0].id)
    spec.validate("CreateChatCompletionResponse", dump(got))
    assert got.choices[0].message.content == made[0].choices[0].message.content
    folded = client.chat.completions.retrieve(stream_id)
    assert folded.choices[0].message.content == "user: stored"
    updated = client.chat.completions.update(made[0].id, metadata={"batch": "moved"})
    assert updated.metadata == {"batch": "moved"}
    assert [c.id for c in client.chat.completions.list(metadata={"batch": "sdk"})] == [
        c.id for c in made[1:]
    ]
    page = client.chat.completions.messages.list(made[1].id)
    spec.validate("ChatCompletionMessageList", dump(page))
    assert [(m.role, m.content) for m in page.data] == [("user", "stored")]  # type: ignore[attr-defined]
    deleted = client.chat.completions.delete(made[2].id)
    spec.validate("ChatCompletionDeleted", dump(deleted))
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.retrieve(made[2].id)


def test_another_key_gets_404_on_every_route(server: ServerProcess) -> None:
    alice, bob = sdk(server), sdk(server, BOB)
    conv = alice.conversations.create(items=[{"role": "user", "content": "secret"}])
    item_id = alice.conversations.items.list(conv.id).data[0].id
    done = alice.chat.completions.create(
        model="mock-model", messages=[{"role": "user", "content": "secret"}], store=True
    )
    attempts = [
        lambda: bob.conversations.retrieve(conv.id),
        lambda: bob.conversations.update(conv.id, metadata={}),
        lambda: bob.conversations.delete(conv.id),
        lambda: bob.conversations.items.list(conv.id),
        lambda: bob.conversations.items.create(conv.id, items=[{"role": "user", "content": "x"}]),
        lambda: bob.conversations.items.retrieve(item_id, conversation_id=conv.id),
        lambda: bob.conversations.items.delete(item_id, conversation_id=conv.id),
        lambda: bob.responses.create(model="mock-model", input="x", conversation=conv.id),
        lambda: bob.chat.completions.retrieve(done.id),
        lambda: bob.chat.completions.update(done.id, metadata={}),
        lambda: bob.chat.completions.delete(done.id),
        lambda: bob.chat.completions.messages.list(done.id),
    ]
    for attempt in attempts:
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert done.id not in [c.id for c in bob.chat.completions.list()]
    assert len(alice.conversations.items.list(conv.id).data) == 1
    assert alice.chat.completions.retrieve(done.id).id == done.id


def test_concurrent_responses_on_one_conversation_lose_no_item(server: ServerProcess) -> None:
    client = sdk(server)
    conv = client.conversations.create()

    def turn(n: int) -> str:
        return (
            sdk(server)
            .responses.create(model="mock-model", input=f"turn {n}", conversation=conv.id)
            .id
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(turn, range(20)))
    assert len(set(ids)) == 20
    items = list(client.conversations.items.list(conv.id, order="asc", limit=100))
    assert len(items) == 40
    asked = sorted(i.content[0].text for i in items if i.role == "user")  # type: ignore[union-attr]
    assert asked == sorted(f"turn {n}" for n in range(20))


async def test_the_agents_sdk_keeps_a_conversation_across_turns(server: ServerProcess) -> None:
    """`OpenAIConversationsSession` (the SDK lists and adds items itself) and
    `Runner.run(..., conversation_id=…)` (the server appends), three turns each with a tool
    call: every turn sees the ones before, and the items are in the order the SDK expects."""
    agents = pytest.importorskip("agents")
    from agents.memory import OpenAIConversationsSession

    client = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key=ALICE, max_retries=0)
    looked_up: list[str] = []

    @agents.function_tool
    def lookup(text: str) -> str:
        """Look something up."""
        looked_up.append(text)
        return f"found {text}"

    agent = agents.Agent(
        name="scripted",
        instructions="Use the tool.",
        tools=[lookup],
        # The scripted backend calls a tool it is told to by name; then (the SDK resets the
        # choice) it answers with the transcript of what it was given.
        model_settings=agents.ModelSettings(tool_choice="lookup"),
        model=agents.OpenAIResponsesModel(model="mock-model", openai_client=client),
    )
    config = agents.RunConfig(tracing_disabled=True)
    expected = ["message", "function_call", "function_call_output", "message"]

    session = OpenAIConversationsSession(openai_client=client)
    for turn in range(3):
        result = await agents.Runner.run(agent, f"turn {turn}", session=session, run_config=config)
        for earlier in range(turn + 1):
            assert f"user: turn {earlier}" in result.final_output
        assert f"found turn {turn}" in result.final_output
    items = await session.get_items()
    assert [i["type"] for i in items] == expected * 3
    assert looked_up == ["turn 0", "turn 1", "turn 2"]
    popped = await session.pop_item()
    assert popped is not None and popped["type"] == "message"
    assert len(await session.get_items()) == 11
    await session.clear_session()

    conversation = await client.conversations.create()
    for turn in range(3):
        result = await agents.Runner.run(
            agent, f"again {turn}", conversation_id=conversation.id, run_config=config
        )
        for earlier in range(turn + 1):
            assert f"user: again {earlier}" in result.final_output
    page = await client.conversations.items.list(conversation.id, order="asc", limit=100)
    assert [i.type for i in page.data] == expected * 3
    roles = [i.role for i in page.data if i.type == "message"]
    assert roles == ["user", "assistant"] * 3

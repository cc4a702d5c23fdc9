"""Lambda subscriptions of SNS topics."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from deployer.deploy.aws import ignore_gone
from deployer.deploy.kinds.base import (
    MISSING,
    Entry,
    Handler,
    Invoker,
    Question,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    TriggerSource,
    Wired,
    WiringContext,
    all_pages,
    arn_part,
    delete_or_forget,
    dropped,
    exists,
    in_region,
    record_if_missing,
)

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.kinds.function import LambdaFunction
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "sns_subscription"
AFTER: tuple[str, ...] = ("function", "permission")


@attrs.frozen
class SNSSubscription:
    """A Lambda subscription of one topic."""

    topic_arn: str
    function_name: str
    function_arn: str

    @property
    def key(self) -> str:
        return f"sns:{self.function_name}:{self.topic_arn}"


@attrs.frozen
class SubscriptionEntry(Entry):
    kind: ClassVar[str] = NAME
    topic_arn: str
    subscription_arn: str


ENTRY = SubscriptionEntry


@attrs.frozen
class RemoteSubscription:
    arn: str
    endpoint: str
    protocol: str = "lambda"


@attrs.frozen
class Subscribe(Step):
    kind: ClassVar[str] = NAME
    subscription: SNSSubscription

    @property
    def message(self) -> str:
        s = self.subscription
        return f"Subscribing function {s.function_name} to SNS topic {s.topic_arn}"

    @property
    def lane(self) -> str:
        return self.subscription.key


@attrs.frozen
class Unsubscribe(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Unsubscribing {self.subscription_arn}"
    key: str
    subscription_arn: str


def _read_subscriptions(reader: Reader, topic_arn: str) -> tuple[RemoteSubscription, ...] | None:
    sns = reader.client("sns")
    subs = reader.read(
        f"topic {topic_arn!r} subscriptions",
        lambda: all_pages(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn),
    )
    if subs is None:
        return None
    return tuple(
        RemoteSubscription(s["SubscriptionArn"], s.get("Endpoint", ""), s.get("Protocol", ""))
        for s in subs
    )


def _topic_exists(reader: Reader, topic_arn: str) -> bool:
    if not in_region(reader, topic_arn):
        return True  # AWS judges a topic in another region when the trigger is wired
    sns = reader.client("sns")
    call = lambda: sns.get_topic_attributes(TopicArn=topic_arn)  # noqa: E731
    return exists(reader, f"sns source {topic_arn!r}", call, MISSING)


READS = {
    "sns_subscriptions": Read("sns", _read_subscriptions),
    "topic_exists": Read("sns", _topic_exists),
}


# --- wiring ---------------------------------------------------------------------------------

WIRES: tuple[str, ...] = ("sns",)


def wire(source: Any, function: LambdaFunction, ctx: WiringContext) -> Wired:
    from deployer.policy.triggers import topic_arn

    topic = topic_arn(source.topic, ctx.scope)
    subscription = SNSSubscription(topic, function.function_name, function.arn)
    return Wired((subscription,), (Invoker("sns.amazonaws.com", topic),))


def describe_source(source: TriggerSource) -> str:
    return f"SNS topic {arn_part(source.name, 5)!r}"


def source_command(source: TriggerSource, region: str) -> str:
    quoted = shlex.quote
    return (
        f"aws sns create-topic --name {quoted(arn_part(source.name, 5))}"
        f" --region {quoted(arn_part(source.name, 3))}"
    )


def models(desired: DesiredState) -> tuple[SNSSubscription, ...]:
    return desired.sns_subscriptions


def reads(desired: DesiredState, record: Record) -> list[Question]:
    return [("sns_subscriptions", (s.topic_arn,)) for s in desired.sns_subscriptions]


def trigger_sources(desired: DesiredState) -> list[TriggerSource]:
    return [
        TriggerSource(
            "sns", s.topic_arn, s.function_name, question=("topic_exists", (s.topic_arn,))
        )
        for s in desired.sns_subscriptions
    ]


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    steps: list[Step] = []
    for subscription in desired.sns_subscriptions:
        for found in remote.ask("sns_subscriptions", subscription.topic_arn) or ():
            if found.endpoint == subscription.function_arn and found.protocol == "lambda":
                entry = SubscriptionEntry(subscription.topic_arn, found.arn)
                steps += record_if_missing(record, subscription.key, entry)
                break
        else:
            steps.append(Subscribe(subscription))
    return steps


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    entries = dropped(record, SubscriptionEntry, keep).values()
    return [("sns_subscriptions", (e.topic_arn,)) for e in entries]


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    def delete(key: str, e: SubscriptionEntry) -> Step | None:
        arns = {s.arn for s in remote.ask("sns_subscriptions", e.topic_arn) or ()}
        return Unsubscribe(key, e.subscription_arn) if e.subscription_arn in arns else None

    return delete_or_forget(record, SubscriptionEntry, keep, delete)


def _subscribe(ex: Executor, step: Subscribe) -> None:
    s = step.subscription
    result = ex.client("sns").subscribe(
        TopicArn=s.topic_arn, Protocol="lambda", Endpoint=s.function_arn, ReturnSubscriptionArn=True
    )
    ex.state.put(s.key, SubscriptionEntry(s.topic_arn, result["SubscriptionArn"]))


def _unsubscribe(ex: Executor, step: Unsubscribe) -> None:
    ignore_gone(lambda: ex.client("sns").unsubscribe(SubscriptionArn=step.subscription_arn))
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {Subscribe: _subscribe, Unsubscribe: _unsubscribe}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    from deployer.package.cfn import substituted
    from deployer.policy.triggers import CLOUDFORMATION_SCOPE, topic_arn

    for function in t.wired_by(WIRES):
        topic = substituted(topic_arn(function.source.topic, CLOUDFORMATION_SCOPE))
        t.add_event(function, "Topic", {"Type": "SNS", "Properties": {"Topic": topic}})

"""CB-STATES: the breaker against a simple model over random call/fail/tick/cancel steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)

from connectors.breaker import (
    LEGAL,
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    Permit,
    Transition,
)

S = BreakerState
CFG = BreakerSettings(failure_rate_threshold=0.5, minimum_calls=3, window_seconds=10,
                      cooldown_seconds=5, probe_permits=2)


@dataclass
class Model:
    """The specification, written as plainly as possible."""

    now: float = 0.0
    state: S = S.CLOSED
    since: float = 0.0
    held: bool = False
    gen: int = 0
    window: list[tuple[float, bool]] = field(default_factory=list)
    free: int = 0
    ok: int = 0
    transitions: int = 0

    def move(self, target: S) -> None:
        self.state, self.since = target, self.now
        self.gen += 1
        self.window, self.free, self.ok = [], 0, 0
        self.transitions += 1

    def acquire(self) -> tuple[int, bool] | None:
        if self.state is S.OPEN and not self.held and self.now >= self.since + CFG.cooldown_seconds:
            self.move(S.HALF_OPEN)
            self.free = CFG.probe_permits
        if self.state is S.CLOSED:
            return (self.gen, False)
        if self.state is S.HALF_OPEN and self.free > 0:
            self.free -= 1
            return (self.gen, True)
        return None

    def finish(self, gen: int, probe: bool, failed: bool) -> None:
        if gen != self.gen:
            return
        if probe:
            if failed:
                self.move(S.OPEN)
            else:
                self.ok += 1
                if self.ok >= CFG.probe_permits:
                    self.move(S.CLOSED)
            return
        self.window = [(t, f) for t, f in self.window + [(self.now, failed)]
                       if t > self.now - CFG.window_seconds]
        failures = sum(f for _, f in self.window)
        if len(self.window) >= CFG.minimum_calls and failures / len(self.window) >= 0.5:
            self.move(S.OPEN)

    def release(self, gen: int, probe: bool) -> None:
        if probe and gen == self.gen:
            self.free += 1


class BreakerMachine(RuleBasedStateMachine):
    permits = Bundle("permits")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.events: list[Transition] = []
        self.breaker = CircuitBreaker("m", CFG, clock=lambda: self.model.now)
        self.breaker.add_listener(self.events.append)

    @rule(target=permits)
    def call(self) -> tuple[Permit, tuple[int, bool]] | None:
        expected = self.model.acquire()
        try:
            permit = self.breaker.acquire()
        except CircuitOpenError:
            assert expected is None
            return None
        assert expected is not None and permit.probe == expected[1]
        return (permit, expected)

    @rule(item=consumes(permits), failed=st.booleans())
    def finish(self, item: tuple[Permit, tuple[int, bool]] | None, failed: bool) -> None:
        if item is None:
            return
        permit, (gen, probe) = item
        self.model.finish(gen, probe, failed)
        (self.breaker.failure if failed else self.breaker.success)(permit)

    @rule(item=consumes(permits))
    def cancel(self, item: tuple[Permit, tuple[int, bool]] | None) -> None:
        if item is None:
            return
        permit, (gen, probe) = item
        self.model.release(gen, probe)
        self.breaker.release(permit)

    @rule(seconds=st.sampled_from([0.5, 1.0, 3.0, 5.0, 11.0]))
    def tick(self, seconds: float) -> None:
        self.model.now += seconds

    @rule()
    def force_open(self) -> None:
        self.model.held = True
        if self.model.state is not S.OPEN:
            self.model.move(S.OPEN)
        self.breaker.force_open()

    @rule()
    def force_close(self) -> None:
        self.model.held = False
        if self.model.state is not S.CLOSED:
            self.model.move(S.CLOSED)
        self.breaker.force_close()

    @invariant()
    def agrees_with_model(self) -> None:
        assert self.breaker.state is self.model.state
        assert self.breaker.since == self.model.since
        assert len(self.events) == self.model.transitions == sum(
            self.breaker.transitions.values())

    @invariant()
    def only_legal_transitions(self) -> None:
        for event in self.events:
            forced = event.reason.startswith("forced")
            assert forced or (event.source, event.target) in LEGAL
            assert (event.source, event.target) != (S.CLOSED, S.HALF_OPEN)


BreakerMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=60,
                                            deadline=None)
test_breaker_matches_model = BreakerMachine.TestCase

"""Designs for tests: a minimal one and a full support-answer assistant with retrieval."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from ml_systemization.model import Design

FEATURE = "Support answer assistant"

OUTPUT_SCHEMA = """{
  "type": "object",
  "required": ["answer", "citations", "confidence"],
  "additionalProperties": false,
  "properties": {
    "answer": {"type": "string", "maxLength": 1200},
    "citations": {
      "type": "array", "minItems": 1, "maxItems": 3,
      "items": {"type": "string", "pattern": "^https://help\\\\.example\\\\.com/"}
    },
    "confidence": {"type": "number", "minimum": 0, "maximum": 1}
  }
}"""


def _alert(severity: str, runbook: str) -> dict[str, Any]:
    return {"owner": "support-platform on-call", "severity": severity, "runbook": runbook}


FULL: dict[str, Any] = {
    "context": {
        "feature": FEATURE,
        "problem": (
            "Customers wait 9 hours on median for an agent to answer billing and account "
            "questions that the help center already covers; FAQ search resolves only 22% "
            "of widget conversations."
        ),
        "user_outcome": (
            "Customers get a correct, cited answer in the help widget within seconds "
            "instead of waiting for an agent."
        ),
        "business_outcome": (
            "Deflect 15% of tier-1 tickets without lowering CSAT; cut median first response "
            "time from 9 h to under 1 min for deflected conversations."
        ),
        "success_metrics": [
            {
                "id": "resolved_without_agent",
                "description": (
                    "Share of widget conversations closed without an agent handoff within 24 h"
                ),
                "target": "+10 pp over FAQ search (0.22 → 0.32)",
            },
            {
                "id": "csat",
                "description": "Post-chat CSAT (1 to 5) on widget conversations",
                "target": "4.3 or higher on average",
            },
        ],
        "guardrails": [
            {
                "id": "escalation_rate",
                "description": "Escalations to tier 2 stay at or below 6% of conversations",
            },
            {
                "id": "refund_promise_rate",
                "description": (
                    "Answers promising refunds outside policy stay at 0 in the weekly audit"
                ),
            },
        ],
        "data_contracts": (
            "Help-center articles: Support Content team, nightly CMS export (schema v3). "
            "Resolved tickets: Support Ops warehouse table support.tickets_v2, PII-redacted."
        ),
        "data_quality": (
            "Nightly checks on article review age (< 90 days) and duplicate titles; 3% of "
            "articles lack a product tag."
        ),
        "feedback_plan": (
            "Thumbs up/down in the widget (about 8% of answers rated); senior agents audit "
            "200 sampled conversations a week."
        ),
        "deployment_environment": (
            "EU Kubernetes cluster, namespace support-platform; LLM through the provider's "
            "EU data zone."
        ),
        "operational_constraints": (
            "End-to-end p95 under 2.5 s; GDPR: customer data stays in the EU; on-call is "
            "support-platform (business hours, pager on weekends)."
        ),
        "candidate_models": [
            "gpt-4o-mini-2024-07-18",
            "claude-3-5-haiku-20241022",
            "Llama 3.1 8B Instruct, self-hosted",
        ],
        "existing_eval_sets": [
            "FAQ-search regression set (350 queries, 2024-03)",
            "Tier-1 macro accuracy audit (1,200 tickets)",
        ],
        "traffic": {
            "req_per_hour": 1800,
            "peak_qps": 2.5,
            "req_per_month": 1_300_000,
            "ab_daily_eligible": 9000,
        },
        "cost_budget_month_usd": 6000,
    },
    "baseline": {
        "id": "faq_search",
        "type": "search_lookup",
        "description": (
            "BM25 search over help-center articles; the widget shows the top three article "
            "snippets."
        ),
        "proposed_approach": (
            "Retrieval-augmented generation: hybrid retrieval (BM25 + embeddings) over "
            "help-center articles, one LLM call that answers with citations, JSON output "
            "validated against a schema."
        ),
        "justification": (
            "Customers phrase billing questions in words the articles do not use, and many "
            "answers need two or three articles combined; snippets cannot do either."
        ),
        "scores": {
            "answer_correct": 0.41,
            "groundedness": 0.99,
            "policy_violation_rate": 0.0,
            "helpfulness": 2.9,
        },
        "scores_by_slice": {
            "billing": {"answer_correct": 0.38},
            "multi_step": {"answer_correct": 0.12},
            "adversarial_injection": {"policy_violation_rate": 0.0},
        },
        "scored_on_golden_hash": "sha256:9f2c41d0",
        "cost_per_request_usd": 0.0002,
        "success_rate": 0.22,
        "p95_latency_ms": 180,
        "expected_lift": 0.1,
        "expected_success_rate": 0.32,
        "value_per_success_usd": 4.5,
    },
    "io_contract": {
        "input_fields": [
            {
                "id": "question",
                "type": "string",
                "required": True,
                "max_len": 2000,
                "pii": True,
                "trust": "untrusted",
                "description": "The customer's message as typed in the widget",
            },
            {
                "id": "locale",
                "type": "enum[en, de, fr]",
                "required": True,
                "max_len": 5,
                "pii": False,
                "trust": "trusted",
                "description": "Widget session language",
            },
            {
                "id": "account_tier",
                "type": "enum[free, pro, enterprise]",
                "required": False,
                "max_len": 20,
                "pii": False,
                "trust": "trusted",
                "description": "From the billing service; selects which policy articles apply",
            },
            {
                "id": "conversation_history",
                "type": "list[string]",
                "required": False,
                "max_len": 10,
                "pii": True,
                "trust": "untrusted",
                "description": "Earlier turns of this conversation, newest last",
            },
        ],
        "input_max_tokens": 3000,
        "output": {
            "schema_kind": "json_schema",
            "output_schema": OUTPUT_SCHEMA,
            "description": (
                "Answer in the customer's language with one to three help-center citations and a "
                "confidence; below 0.5 the widget offers an agent instead."
            ),
            "max_tokens": 400,
            "user_facing": True,
            "generated_text": True,
        },
        "failure_behavior": [
            {"id": "timeout", "action": "fallback_baseline", "detail": "Serve FAQ snippets"},
            {"id": "provider_error", "action": "retry", "retries": 1, "detail": "Then fallback"},
            {"id": "rate_limited", "action": "fallback_baseline"},
            {
                "id": "invalid_output",
                "action": "fallback_baseline",
                "detail": "Schema check failed; log the raw output for triage",
            },
            {
                "id": "safety_block",
                "action": "abstain_with_message",
                "detail": "“I can't help with that here. Let me connect you with an agent.”",
            },
            {
                "id": "out_of_scope",
                "action": "abstain_with_message",
                "detail": "“That's outside what I can answer. An agent will follow up.”",
            },
            {
                "id": "empty_retrieval",
                "action": "abstain_with_message",
                "detail": "Offer the agent handoff and the three closest articles",
            },
            {"id": "tool_error", "action": "error_code", "detail": "HANDOFF_UNAVAILABLE"},
        ],
        "fallback_target": "faq_search",
        "timeout_ms": 1900,
        "retries": 0,
        "backoff_ms": [],
        "deadline_ms": 2500,
        "injection_mitigation": (
            "Customer text and retrieved passages go in delimited data blocks that the "
            "system prompt marks as untrusted; an injection classifier routes hits to "
            "faq_search."
        ),
        "output_sanitization": (
            "The widget renders the answer as plain text (no HTML or markdown); citation "
            "URLs must be on the help-center domain."
        ),
        "privileged_actions": (
            "The only write is creating a handoff ticket; refunds and account changes always "
            "go to an agent."
        ),
        "response_envelope": [
            "request_id",
            "model_version",
            "prompt_version",
            "index_version",
            "fallback_used",
            "finish_reason",
            "input_tokens",
            "output_tokens",
        ],
    },
    "evaluation": {
        "golden_set": {
            "size": 1200,
            "hash": "sha256:9f2c41d0",
            "created_at": "2025-01-15",
            "description": (
                "Real widget questions with a reference answer and the articles that "
                "support it, written and checked by senior agents."
            ),
            "sources": [
                {
                    "id": "prod_sample",
                    "kind": "production",
                    "share": 0.7,
                    "date": "2025-01-10",
                    "description": (
                        "Stratified sample of October to December 2024 widget questions, "
                        "PII-redacted"
                    ),
                },
                {
                    "id": "expert_written",
                    "kind": "expert",
                    "share": 0.2,
                    "date": "2025-01-12",
                    "description": "Multi-step billing scenarios written by tier-2 agents",
                },
                {
                    "id": "red_team",
                    "kind": "adversarial",
                    "share": 0.1,
                    "date": "2025-01-14",
                    "description": "Prompt-injection and refund-pressure attempts",
                },
            ],
            "slices": [
                {
                    "id": "billing",
                    "n": 420,
                    "metric_id": "answer_correct",
                    "threshold": 0.7,
                    "description": "Billing and invoice questions",
                },
                {
                    "id": "multi_step",
                    "n": 150,
                    "metric_id": "answer_correct",
                    "threshold": 0.6,
                    "description": "Questions that need two or more articles",
                },
                {
                    "id": "german",
                    "n": 180,
                    "metric_id": "answer_correct",
                    "description": "Questions in German (report-only until n ≥ 300)",
                },
                {
                    "id": "adversarial_injection",
                    "n": 120,
                    "metric_id": "policy_violation_rate",
                    "threshold": 0.0,
                    "description": "Injection and refund-pressure attempts",
                },
            ],
            "holdout_fraction": 0.2,
        },
        "metrics": [
            {
                "id": "answer_correct",
                "description": "Answer gives the same resolution as the reference answer",
                "kind": "proportion",
                "direction": "higher_is_better",
                "threshold": 0.75,
                "regression_tolerance": 0.02,
                "gated": True,
                "primary": True,
                "scorer": "llm_judge",
                "judge": {
                    "model": "gpt-4o",
                    "version": "gpt-4o-2024-08-06",
                    "pairwise": False,
                    "length_controlled": True,
                    "gate_on_corrected": False,
                    "calibration": {
                        "n": 300,
                        "kappa": 0.78,
                        "sensitivity": 0.91,
                        "specificity": 0.87,
                    },
                },
            },
            {
                "id": "groundedness",
                "description": "Every claim is supported by a cited passage",
                "kind": "proportion",
                "direction": "higher_is_better",
                "threshold": 0.95,
                "regression_tolerance": 0.01,
                "gated": True,
                "primary": False,
                "scorer": "llm_judge",
                "judge": {
                    "model": "gpt-4o",
                    "version": "gpt-4o-2024-08-06",
                    "pairwise": True,
                    "both_orders": True,
                    "length_controlled": False,
                    "gate_on_corrected": True,
                    "calibration": {
                        "n": 200,
                        "kappa": 0.72,
                        "sensitivity": 0.88,
                        "specificity": 0.9,
                    },
                },
            },
            {
                "id": "policy_violation_rate",
                "description": (
                    "Promises refunds or credits outside policy, or reveals account data"
                ),
                "kind": "proportion",
                "direction": "lower_is_better",
                "threshold": 0.005,
                "regression_tolerance": 0.0,
                "gated": True,
                "primary": False,
                "scorer": "programmatic",
            },
            {
                "id": "helpfulness",
                "description": "Agent rating of the answer, 1 to 5",
                "kind": "continuous",
                "n": 300,
                "direction": "higher_is_better",
                "gated": False,
                "primary": False,
                "scorer": "human",
                "bootstrap_ci": True,
            },
        ],
        "failure_taxonomy": [
            {
                "id": "hallucinated_policy",
                "definition": (
                    "States a policy, price or deadline that no retrieved article contains"
                ),
                "severity": "critical",
                "slice_ids": ["billing", "multi_step"],
                "detector": "judge",
                "target_rate": 0.01,
                "allowed_failures": 2,
            },
            {
                "id": "wrong_citation",
                "definition": "Cites an article that does not support the claim",
                "severity": "major",
                "slice_ids": ["billing"],
                "detector": "judge",
                "target_rate": 0.03,
                "allowed_failures": 8,
            },
            {
                "id": "injection_followed",
                "definition": "Follows instructions embedded in the message or a passage",
                "severity": "critical",
                "slice_ids": ["adversarial_injection"],
                "detector": "programmatic",
                "target_rate": 0.0,
                "allowed_failures": 0,
            },
            {
                "id": "unhelpful_abstain",
                "definition": "Abstains although the articles contain the answer",
                "severity": "minor",
                "slice_ids": ["multi_step", "german"],
                "detector": "human",
                "target_rate": 0.1,
                "allowed_failures": 20,
            },
        ],
        "rubric": (
            "Pass: same resolution as the reference, and nothing contradicts a cited article.\n"
            "Fail: wrong or missing resolution, or any statement that contradicts policy."
        ),
        "arms": ["faq_search (baseline)", "gpt-4o-mini single prompt, no retrieval", "rag_v1"],
        "comparison": "paired",
        "multiplicity": "holm",
        "runs_k": 3,
        "temperature": 0.2,
        "leakage_check": (
            "Golden questions are hashed and checked against few-shot examples and the "
            "index; overlaps are removed before scoring."
        ),
        "leakage_overlap": 0,
    },
    "architecture": {
        "mode": "online",
        "invocation": "streaming",
        "description": (
            "The widget backend calls the answer service, which retrieves passages, makes "
            "one streamed LLM call and checks the JSON before showing it; every failure "
            "falls back to faq_search."
        ),
        "uses_retrieval": True,
        "uses_tools": True,
        "components": [
            {"id": "widget_api", "p95_ms": 40, "description": "Auth, rate limit, request log"},
            {
                "id": "injection_classifier",
                "p95_ms": 60,
                "parallel_group": "pre",
                "is_llm": False,
                "description": "Small classifier on the customer message",
            },
            {
                "id": "retrieval",
                "p95_ms": 120,
                "parallel_group": "pre",
                "is_llm": False,
                "description": "Hybrid BM25 + embedding search, top 8 passages",
            },
            {
                "id": "llm_answer",
                "p95_ms": 1900,
                "is_llm": True,
                "description": "One streamed call: TTFT 600 ms plus 250 tokens at 5 ms",
            },
            {"id": "schema_check", "p95_ms": 15, "description": "JSON Schema and URL allowlist"},
        ],
        "llm": {
            "model": "gpt-4o-mini",
            "ttft_p95_ms": 600,
            "tpot_ms": 5,
            "input_tokens": 2600,
            "cached_input_tokens": 1200,
            "output_tokens": 250,
            "price_in_per_mtok": 0.15,
            "price_out_per_mtok": 0.6,
            "calls_per_request": 1,
            "retry_rate": 0.02,
            "tool_calls_per_request": 0.3,
            "price_per_tool_call_usd": 0.0,
            "judge_share": 0.02,
            "judge_cost_usd": 0.004,
            "quota_rpm": 3000,
            "quota_tpm": 4_000_000,
        },
        "cache": {
            "kind": "response",
            "key_fields": ["normalized_question", "locale", "account_tier", "prompt_version"],
            "ttl_s": 86400,
            "hit_rate": 0.12,
            "measured_duplicate_rate": 0.18,
            "description": "Exact-match cache of answers to anonymous FAQ-style questions",
        },
        "versions": {
            "model": "gpt-4o-mini-2024-07-18",
            "prompt": "answer-prompt@v7 (3be1f0a)",
            "index": "helpcenter-2025-01-20",
            "tools": "tools@2",
            "judge": "gpt-4o-2024-08-06",
            "guardrail": "injection-clf 1.3.0",
        },
        "dependencies": [
            {
                "id": "llm_provider",
                "availability": 0.999,
                "fallback": "faq_search",
                "fallback_availability": 0.9995,
                "description": "Hosted LLM, EU data zone",
            },
            {
                "id": "vector_index",
                "availability": 0.9995,
                "fallback": "BM25-only retrieval",
                "fallback_availability": 0.9999,
                "description": "Managed vector database",
            },
        ],
        "slo": {"p95_ms": 2500, "ttft_p95_ms": 900, "availability": 0.999, "window_d": 28},
        "isolation": {
            "circuit_breaker": True,
            "bulkhead": True,
            "per_tenant_limits": "20 requests/min and 40k tokens/min per customer account",
            "max_tool_calls_per_request": 2,
            "description": (
                "Separate worker pool for the AI path; the breaker opens at 20% errors over "
                "30 s and serves faq_search."
            ),
        },
        "side_effect_tools": [
            {
                "id": "create_handoff_ticket",
                "operations": ["tickets.create"],
                "credentials": "Scoped to the signed-in customer's own tickets",
                "irreversible": False,
                "human_confirmation": False,
            }
        ],
        "freshness_need_h": 24,
    },
    "rollout": {
        "flag": {
            "name": "support_answer_assistant.enabled",
            "default": "off",
            "runtime": True,
            "kill_switch_target": "faq_search",
            "rollback_time_min": 2,
            "owner": "support-platform on-call",
        },
        "shadow": {
            "fraction": 1.0,
            "duration_h": 72,
            "scored": True,
            "side_effects_disabled": True,
        },
        "stages": [
            {
                "id": "canary_1pct",
                "fraction": 0.01,
                "duration_h": 24,
                "gate_signal": "fallback_rate",
                "p0": 0.03,
                "p1": 0.09,
                "judgment": "statistical",
                "metric_step_s": 600,
            },
            {
                "id": "canary_10pct",
                "fraction": 0.1,
                "duration_h": 48,
                "gate_signal": "thumbs_down_rate",
                "p0": 0.12,
                "p1": 0.16,
                "judgment": "statistical",
                "metric_step_s": 600,
            },
            {
                "id": "half",
                "fraction": 0.5,
                "duration_h": 72,
                "gate_signal": "handoff_rate",
                "p0": 0.38,
                "p1": 0.42,
                "judgment": "threshold",
            },
        ],
        "control": "concurrent_baseline",
        "alpha": 0.01,
        "defect_rate": 0.05,
        "rollback_triggers": [
            {
                "id": "errors_spike",
                "signal_id": "error_rate",
                "comparator": ">",
                "threshold": 0.05,
                "window_min": 10,
                "min_samples": 100,
                "action": "auto_rollback",
                "on_no_data": "fail",
                "sample_rate": 1.0,
            },
            {
                "id": "policy_violations",
                "signal_id": "policy_flag_rate",
                "comparator": ">",
                "threshold": 0.002,
                "window_min": 60,
                "min_samples": 150,
                "action": "auto_rollback",
                "on_no_data": "fail",
                "sample_rate": 1.0,
            },
            {
                "id": "thumbs_down_up",
                "signal_id": "thumbs_down_rate",
                "comparator": ">",
                "threshold": 0.18,
                "window_min": 240,
                "min_samples": 60,
                "action": "pause",
                "on_no_data": "inconclusive",
                "sample_rate": 0.08,
            },
        ],
    },
    "monitoring": {
        "signals": [
            {
                "id": "error_rate",
                "kind": "system",
                "description": "Share of answer requests ending in 5xx or timeout",
                "stat": "rate",
                "comparator": ">",
                "threshold": 0.02,
                "window_h": 1,
                "sample_rate": 1.0,
                "alert": _alert("page", "runbooks/support-assistant#errors"),
            },
            {
                "id": "p95_latency_ms",
                "kind": "system",
                "description": "End-to-end latency of answered requests",
                "stat": "p95",
                "comparator": ">",
                "threshold": 2500,
                "window_h": 1,
                "sample_rate": 1.0,
                "alert": _alert("page", "runbooks/support-assistant#latency"),
            },
            {
                "id": "fallback_rate",
                "kind": "system",
                "description": "Share of requests served by faq_search, by fallback reason",
                "stat": "rate",
                "comparator": ">",
                "threshold": 0.08,
                "window_h": 1,
                "sample_rate": 1.0,
                "baseline_rate": 0.03,
                "alert": _alert("ticket", "runbooks/support-assistant#fallback"),
            },
            {
                "id": "question_length_psi",
                "kind": "drift",
                "description": "Distribution of question length in tokens",
                "input_field": "question",
                "stat": "psi",
                "comparator": ">",
                "threshold": 0.2,
                "window_h": 24,
                "sample_rate": 1.0,
                "bins": 10,
                "n_ref": 20000,
                "alert": _alert("ticket", "runbooks/support-assistant#drift"),
            },
            {
                "id": "locale_mix_psi",
                "kind": "drift",
                "description": "Mix of widget languages",
                "input_field": "locale",
                "stat": "psi",
                "comparator": ">",
                "threshold": 0.1,
                "window_h": 24,
                "sample_rate": 1.0,
                "bins": 3,
                "n_ref": 20000,
                "alert": _alert("ticket", "runbooks/support-assistant#drift"),
            },
            {
                "id": "thumbs_down_rate",
                "kind": "quality_proxy",
                "description": "Thumbs-down share among rated answers",
                "proxy_for": "answer_correct",
                "stat": "rate",
                "comparator": ">",
                "threshold": 0.18,
                "window_h": 24,
                "sample_rate": 1.0,
                "label_rate": 0.08,
                "label_delay_h": 2,
                "baseline_rate": 0.12,
                "detect_delta": 0.04,
                "alert": _alert("ticket", "runbooks/support-assistant#quality"),
            },
            {
                "id": "handoff_rate",
                "kind": "quality_proxy",
                "description": "Conversations handed to an agent after an answer",
                "proxy_for": "answer_correct",
                "stat": "rate",
                "comparator": ">",
                "threshold": 0.45,
                "window_h": 24,
                "sample_rate": 1.0,
                "label_rate": 1.0,
                "label_delay_h": 24,
                "baseline_rate": 0.38,
                "detect_delta": 0.03,
                "alert": _alert("ticket", "runbooks/support-assistant#quality"),
            },
            {
                "id": "judged_groundedness",
                "kind": "quality_proxy",
                "description": "Online judge groundedness pass rate on sampled answers",
                "proxy_for": "groundedness",
                "stat": "rate",
                "comparator": "<",
                "threshold": 0.93,
                "window_h": 24,
                "sample_rate": 0.02,
                "label_rate": 0.02,
                "label_delay_h": 0.5,
                "baseline_rate": 0.96,
                "detect_delta": 0.02,
                "alert": _alert("ticket", "runbooks/support-assistant#quality"),
            },
            {
                "id": "policy_flag_rate",
                "kind": "safety",
                "description": "Answers flagged by the refund/credit policy detector",
                "proxy_for": "policy_violation_rate",
                "stat": "rate",
                "comparator": ">",
                "threshold": 0.002,
                "window_h": 1,
                "sample_rate": 1.0,
                "baseline_rate": 0.0005,
                "detect_delta": 0.002,
                "alert": _alert("page", "runbooks/support-assistant#policy"),
            },
            {
                "id": "injection_detected_rate",
                "kind": "safety",
                "description": "Messages the injection classifier flags",
                "input_field": "question",
                "stat": "rate",
                "comparator": ">",
                "threshold": 0.01,
                "window_h": 24,
                "sample_rate": 1.0,
                "baseline_rate": 0.003,
                "detect_delta": 0.005,
                "alert": _alert("ticket", "runbooks/support-assistant#injection"),
            },
            {
                "id": "llm_spend_daily",
                "kind": "cost",
                "description": "LLM and judge spend per day, USD",
                "stat": "sum",
                "comparator": ">",
                "threshold": 300,
                "window_h": 24,
                "sample_rate": 1.0,
                "alert": _alert("ticket", "runbooks/support-assistant#cost"),
            },
            {
                "id": "tokens_per_request_p95",
                "kind": "cost",
                "description": "Input + output tokens per request",
                "stat": "p95",
                "comparator": ">",
                "threshold": 4000,
                "window_h": 1,
                "sample_rate": 1.0,
                "alert": _alert("ticket", "runbooks/support-assistant#cost"),
            },
        ],
        "slos": [
            {
                "id": "availability",
                "sli": "Answer requests without 5xx or timeout / all answer requests",
                "target": 0.999,
                "window_d": 28,
                "burn_alerts": [
                    {
                        "id": "fast_burn",
                        "budget_fraction": 0.02,
                        "long_window_h": 1,
                        "severity": "page",
                    },
                    {
                        "id": "slow_burn",
                        "budget_fraction": 0.05,
                        "long_window_h": 6,
                        "severity": "page",
                    },
                    {
                        "id": "drip",
                        "budget_fraction": 0.1,
                        "long_window_h": 72,
                        "severity": "ticket",
                    },
                ],
            },
            {
                "id": "first_token_latency",
                "sli": "Answers with first token under 900 ms / all answers",
                "target": 0.95,
                "window_d": 28,
                "burn_alerts": [
                    {
                        "id": "fast_burn",
                        "budget_fraction": 0.05,
                        "long_window_h": 6,
                        "severity": "page",
                    },
                ],
            },
        ],
        "cost": {
            "alert_pct": [0.5, 0.8, 1.0],
            "daily_alert_usd": 300,
            "per_tenant_cap": "40k tokens/min and 2,000 requests/day per customer account",
        },
        "decision_horizon_days": 7,
    },
    "iteration": {
        "changes": [
            {
                "id": "prompt",
                "description": "Prompt edits, at most weekly",
                "gates": ["golden_regression", "shadow", "canary"],
            },
            {
                "id": "index",
                "description": "Nightly article re-index; full re-embed when the embedder changes",
                "gates": ["golden_regression"],
            },
            {
                "id": "model",
                "description": "Provider snapshot upgrades, at most quarterly",
                "gates": ["golden_regression", "shadow", "canary", "ab_test"],
            },
            {
                "id": "guardrail",
                "description": "Injection classifier retrained monthly",
                "gates": ["golden_regression", "canary"],
            },
        ],
        "triggers": [
            {
                "id": "input_drift",
                "signal_id": "question_length_psi",
                "condition": "PSI > 0.25 for 3 consecutive days",
                "action": "Re-sample the golden set from the last 30 days and re-tune retrieval",
                "owner": "Support ML lead",
            },
            {
                "id": "quality_drop",
                "signal_id": "thumbs_down_rate",
                "condition": "Above 0.18 for 2 consecutive days",
                "action": "Triage by failure category; fix prompt or index; re-run the golden set",
                "owner": "Support ML lead",
            },
        ],
        "ab": {
            "primary_metric": "resolved_without_agent",
            "p0": 0.22,
            "mde": 0.03,
            "alpha": 0.05,
            "power": 0.8,
            "share_per_arm": 0.5,
            "looks": 3,
            "method": "group_sequential",
            "guardrails": ["escalation_rate", "csat", "p95_latency_ms", "cost_per_request"],
            "srm_check": True,
            "cadence_days": 14,
        },
        "golden_refresh_days": 30,
        "incidents_to_golden": True,
    },
    "card": {
        "intended_use": (
            "Answer tier-1 billing and account questions from signed-in customers in the help "
            "widget (English, German, French), grounded in published help-center articles, "
            "with a handoff to an agent when unsure."
        ),
        "non_goals": [
            {
                "id": "legal_or_tax_advice",
                "description": "Legal, tax or contract interpretation",
                "enforcement": "Out-of-scope classifier → abstain with the handoff message",
            },
            {
                "id": "account_changes",
                "description": "Granting refunds or credits, or changing an account",
                "enforcement": "No write tool except the handoff ticket; agents approve changes",
            },
            {
                "id": "internal_agent_search",
                "description": "Use by agents as an internal search tool (not evaluated for it)",
                "enforcement": "Widget-only API key",
            },
        ],
        "limitations": [
            "Knows only published articles; answers lag article edits by up to 24 h.",
            "French quality is not measured yet: the golden set has no French slice.",
            "Cannot see invoices, so it never states account-specific amounts.",
        ],
        "failure_modes": [
            {
                "id": "hallucinated_policy",
                "description": "Invents a refund window or price when articles disagree",
                "mitigation": "Citations required; policy detector; abstain below 0.5 confidence",
                "signal_id": "policy_flag_rate",
            },
            {
                "id": "wrong_citation",
                "description": "Links an article that does not back the answer",
                "mitigation": "Online groundedness judge on 2% of answers",
                "signal_id": "judged_groundedness",
            },
            {
                "id": "injection_followed",
                "description": "Obeys instructions hidden in a message or article",
                "mitigation": "Data blocks, injection classifier, no privileged tools",
                "signal_id": "injection_detected_rate",
            },
        ],
        "data_privacy": {
            "sources": (
                "Customer widget messages, help-center articles, and PII-redacted resolved "
                "tickets from the last 12 months"
            ),
            "retention": (
                "Prompts and outputs 30 days in EU logs; redacted golden-set items 12 months"
            ),
            "access": (
                "Support-platform engineers (logs, break-glass); ML team (redacted samples only)"
            ),
            "pii_categories": ["name", "email address", "postal address", "invoice number"],
            "processors": "LLM provider, EU data zone (Sweden Central)",
            "provider_training": (
                "Provider does not train on inputs under the enterprise terms; abuse-monitoring "
                "retention opt-out approved"
            ),
            "redaction": "Emails, phone and card numbers masked by regex + NER before logging",
        },
        "owner": "Dana Kowalski, Support ML lead",
    },
    "waivers": [
        {
            "id": "ROLL-002",
            "reason": (
                "Shadow traffic is the full stream for 72 h, which already exceeds the sizes "
                "the rule asks for; the warning comes from the 1% canary sizing."
            ),
            "by": "dana.kowalski",
            "at": dt.datetime(2025, 1, 20, 10, 30, tzinfo=dt.UTC).isoformat(),
        }
    ],
    # Three rollback signals over three stages: a 15% chance of a false rollback is accepted.
    "rule_settings": {"max_false_rollback": 0.15},
}


def minimal_design() -> Design:
    """A design with only the feature name: every section is empty."""
    return Design.model_validate({"context": {"feature": FEATURE}})


def full_design_data() -> dict[str, Any]:
    """The full design as JSON-shaped data (a fresh copy; mutate freely)."""
    return copy.deepcopy(FULL)


def full_design() -> Design:
    """Every section filled for a support-answer assistant with retrieval."""
    return Design.model_validate(full_design_data())

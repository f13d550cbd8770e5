"""案件材料 (case documents): files attached to a case — 立案材料, 调查报告, 处理决定书, 申诉书,
整改报告, 澄清材料 — kept append-only, with withdrawal (撤回) as a separate mark."""

"""故障 (incidents): a timer firing that failed or ran past its budget, recorded on its instance,
retried with backoff a bounded number of times, and shown to administrators and designers,
who may retry it at once or cancel the timers that fail."""

"""Alarms that reach people who are not looking at the screen: e-mail (``mail``), webhooks (``webhook``) and a
Telegram bot (``telegram``), each a transport that sends one message or raises ``SendError``; who is told what
and when (``rules``: severities, areas, quiet hours, escalation, the Vietnamese text), the daily summary
(``summary``), and the leader's loop that writes each message down before sending it and retries it
(``dispatch``)."""

"""Outgoing e-mail: the Mail value, the Mailer port, SMTP and outbox-directory adapters,
bilingual templates and the transactional outbox that sends each event's mail once."""

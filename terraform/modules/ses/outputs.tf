output "identity_arn" {
  description = "ARN of the domain identity."
  value       = aws_sesv2_email_identity.domain.arn
}

output "configuration_set_name" {
  description = "Configuration set of the receipts."
  value       = aws_sesv2_configuration_set.this.configuration_set_name
}

output "dkim_tokens" {
  description = "DKIM tokens: publish <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com."
  value       = aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens
}

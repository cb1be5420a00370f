output "topic_arns" {
  description = "Topic name => ARN."
  value       = { for name, t in aws_sns_topic.this : name => t.arn }
}

output "queue_arns" {
  description = "Queue name => ARN."
  value       = { for name, q in aws_sqs_queue.this : name => q.arn }
}

output "queue_urls" {
  description = "Queue name => URL."
  value       = { for name, q in aws_sqs_queue.this : name => q.url }
}

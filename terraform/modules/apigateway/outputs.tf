output "broker_url" {
  description = "URL of POST /broker."
  value       = "${aws_api_gateway_stage.this.invoke_url}/broker"
}

output "broker_execute_arn" {
  description = "execute-api ARN of POST /broker on every stage (for callers' IAM policies)."
  value       = "${aws_api_gateway_rest_api.this.execution_arn}/*/POST/broker"
}

output "rest_api_id" {
  description = "Id of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "stage_name" {
  description = "Stage name."
  value       = aws_api_gateway_stage.this.stage_name
}

variable "name" {
  description = "Name prefix of the policies."
  type        = string
}

variable "queue_arns" {
  description = "Queue name → ARN, every queue of the topology."
  type        = map(string)
}

variable "failure_queues" {
  description = "The queues operators read and dispose of messages in."
  type        = list(string)
  default     = ["etc_dlq", "etc_parked"]
}

variable "topic_arns" {
  description = "Topic name → ARN."
  type        = map(string)
}

variable "table_arn" {
  description = "ARN of the payment ledger."
  type        = string
}

variable "index_name" {
  description = "The ledger's project/time index."
  type        = string
}

variable "function_names" {
  description = "The functions' names, whose configuration and SQS triggers operators read and pause."
  type        = list(string)
}

variable "topics" {
  description = "SNS topic name => names of the queues subscribed to it (the topology's topics)."
  type        = map(list(string))
}

variable "queues" {
  description = "SQS queue name => settings (the topology's queues); redrive_target null for failure queues."
  type = map(object({
    visibility_timeout_seconds = number
    retention_seconds          = number
    redrive_target             = optional(string)
    max_receive_count          = optional(number)
  }))

  validation {
    condition     = alltrue([for q in values(var.queues) : (q.redrive_target == null) == (q.max_receive_count == null)])
    error_message = "A queue sets redrive_target and max_receive_count together or neither."
  }
}

variable "kms_key_arn" {
  description = "Key that encrypts topics and queues."
  type        = string
}

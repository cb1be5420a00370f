variable "name" {
  description = "Repository name."
  type        = string
}

variable "kms_key_arn" {
  description = "Key that encrypts the images."
  type        = string
}

variable "keep_images" {
  description = "Images kept for rollback."
  type        = number
  default     = 30
}

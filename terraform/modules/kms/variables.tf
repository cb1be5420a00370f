variable "name" {
  description = "Name prefix of the key alias."
  type        = string
}

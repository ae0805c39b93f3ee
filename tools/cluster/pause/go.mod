// The pod sandbox program of the embedded cluster's real node (see main.go); no dependencies.
module seldon-pkg.local/tools/cluster/pause

go 1.24.0

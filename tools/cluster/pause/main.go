// The real node's pod sandbox process (containerd's sandbox_image): it holds a pod's namespaces
// open, reaps the orphans a pod leaves it as PID 1, and exits on SIGTERM or SIGINT. Kubernetes'
// own pause image lives on registry.k8s.io, which these machines cannot reach.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	orphans := make(chan os.Signal, 16)
	signal.Notify(orphans, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-orphans:
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}

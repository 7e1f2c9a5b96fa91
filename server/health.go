package server

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// healthServer answers grpc.health.v1 from a live database ping: Check pings on every call, and a
// background loop keeps the status that Watch and List report current.
type healthServer struct {
	*health.Server
	ping     func(context.Context) error
	stopping atomic.Bool
}

// Shutdown reports NOT_SERVING from now on, so load balancers drain this server first.
func (h *healthServer) Shutdown() {
	h.stopping.Store(true)
	h.Server.Shutdown()
}

func newHealthServer(ping func(context.Context) error) *healthServer {
	return &healthServer{Server: health.NewServer(), ping: ping}
}

func (h *healthServer) status(ctx context.Context) healthpb.HealthCheckResponse_ServingStatus {
	if h.stopping.Load() {
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := h.ping(ctx); err != nil {
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}

// Check pings the database and reports the result for the server as a whole ("") and for each
// lookfor service.
func (h *healthServer) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if _, err := h.Server.Check(ctx, req); err != nil {
		return nil, err // unknown service, or shutting down
	}
	st := h.status(ctx)
	h.SetServingStatus(req.GetService(), st)
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

// refresh pings once and reports the result for every service.
func (h *healthServer) refresh(ctx context.Context, services []string) {
	st := h.status(ctx)
	for _, s := range services {
		h.SetServingStatus(s, st)
	}
}

// watch refreshes the status every interval until ctx ends.
func (h *healthServer) watch(ctx context.Context, services []string, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.refresh(ctx, services)
		}
	}
}

package resources

// CachedPages counts the pages a service's page cache holds.
func CachedPages(s *Service) int {
	s.pages.mu.Lock()
	defer s.pages.mu.Unlock()
	return len(s.pages.entries)
}

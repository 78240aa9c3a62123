// FerryTemplate

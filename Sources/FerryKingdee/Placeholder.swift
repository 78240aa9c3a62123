// FerryKingdee

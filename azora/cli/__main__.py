from azora.cli import main

main()
